"""A Kafka record as operators see it: the CloudEvent's attributes, its body as JSON, where it came from.

``service`` comes from the CloudEvent source (``/baylink/<service>``), else from the type
(``baylink.<service>.…``); ``city`` is the 6-digit division code the body names
(``authority_code`` or ``city_code``), else "". A record that is not a CloudEvent (what the
dead-letter topic may hold) is still shown, with an empty type and the reason in ``data``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from google.protobuf.json_format import MessageToDict

from baylink.runtime.events import EventTypes, MalformedEvent, from_kafka

DIVISION_CODE = re.compile(r"\d{6}")
CITY_FIELDS = ("authority_code", "city_code")


@dataclass(frozen=True)
class OpsRecord:
    """One record of one topic, decoded. ``key``, ``value`` and ``headers`` are the raw record's."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    id: str
    type: str
    source: str
    service: str
    city: str
    correlation_id: str
    subject: str
    data: dict[str, Any]
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)

    def to_json(self) -> dict[str, Any]:
        """The console's record shape (JSON-ready)."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": iso(self.timestamp),
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "service": self.service,
            "city": self.city,
            "correlation_id": self.correlation_id,
            "subject": self.subject,
            "data": self.data,
        }


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_time(record: ConsumerRecord) -> datetime:
    """The broker's timestamp of a record (milliseconds since the epoch), as an aware UTC datetime."""
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def service_of(source: str, event_type: str) -> str:
    """``/baylink/registry`` → ``registry``; failing that, ``baylink.registry.…`` → ``registry``."""
    if source.startswith("/baylink/"):
        return source.removeprefix("/baylink/").split("/", 1)[0]
    parts = event_type.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "baylink" else ""


def city_of(data: Mapping[str, Any]) -> str:
    """The division code an event body names, else ""."""
    for name in CITY_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and DIVISION_CODE.fullmatch(value):
            return value
    return ""


def decode_record(record: ConsumerRecord, types: EventTypes) -> OpsRecord:
    """Decode one Kafka record; never raises for bad content (the reason goes into ``data``)."""
    headers = tuple((name, bytes(value)) for name, value in (record.headers or ()))
    raw = {"key": record.key, "value": record.value, "headers": headers}
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        event = from_kafka(headers, record.value)
    except MalformedEvent as exc:
        return OpsRecord(
            **where,
            timestamp=record_time(record),
            id="",
            type="",
            source="",
            service="",
            city="",
            correlation_id="",
            subject="",
            data={"undecodable": str(exc)},
            **raw,
        )
    try:
        data: dict[str, Any] = MessageToDict(types.decode(event), preserving_proto_field_name=True)
    except MalformedEvent as exc:
        data = {"undecodable": str(exc)}
    return OpsRecord(
        **where,
        timestamp=record_time(record),
        id=event.id,
        type=event.type,
        source=event.source,
        service=service_of(event.source, event.type),
        city=city_of(data),
        correlation_id=event.correlation_id or "",
        subject=event.subject,
        data=data,
        **raw,
    )


@dataclass(frozen=True)
class RecordFilter:
    """Which records to show. Empty fields match everything; a type matches itself or as a dotted prefix
    (``baylink.registry`` matches every registry event)."""

    types: frozenset[str] = frozenset()
    service: str = ""
    city: str = ""
    correlation_id: str = ""

    @classmethod
    def of(cls, types: Iterable[str] = (), service: str = "", city: str = "", correlation_id: str = "") -> RecordFilter:
        """A filter from plain values (blank ones ignored)."""
        return cls(
            frozenset(t.strip() for t in types if t.strip()), service.strip(), city.strip(), correlation_id.strip()
        )

    def matches(self, record: OpsRecord) -> bool:
        """True when ``record`` passes every condition given."""
        if self.types and not any(record.type == t or record.type.startswith(t + ".") for t in self.types):
            return False
        if self.service and record.service != self.service:
            return False
        if self.city and record.city != self.city:
            return False
        return not self.correlation_id or record.correlation_id == self.correlation_id
