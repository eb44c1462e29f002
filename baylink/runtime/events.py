"""CloudEvents 1.0 over Kafka, binary mode, with protobuf bodies.

An event's attributes travel as ``ce_*`` headers and its body is the protobuf
message named by ``ce_type``. Each event message declares its type with the
``(baylink.events.v1.event_type)`` option, so the type ⇄ message table is read
from the contracts themselves and cannot drift from them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

from baylink.runtime.context import causation_id_var, correlation_id_var, new_id, traceparent_var

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type")


class MalformedEvent(ValueError):
    """A Kafka record that is not a Baylink CloudEvent (or whose body does not decode)."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: bytes
    content_type: str = CONTENT_TYPE
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    # Headers that are not CloudEvents attributes (e.g. the dead-letter headers) ride along untouched.
    extra_headers: tuple[tuple[str, bytes], ...] = field(default=())

    @property
    def topic(self) -> str:
        return topic_for_type(self.type)

    def header_items(self) -> list[tuple[str, str]]:
        """The Kafka headers as text, as the outbox stores them (extra headers must be UTF-8)."""
        return self._attributes() + [(k, v.decode()) for k, v in self.extra_headers]

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self._attributes()] + list(self.extra_headers)

    def _attributes(self) -> list[tuple[str, str]]:
        headers = [
            ("ce_specversion", SPEC_VERSION),
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", self.time.isoformat()),
            ("ce_subject", self.subject),
            ("content-type", self.content_type),
        ]
        if self.correlation_id:
            headers.append(("ce_correlationid", self.correlation_id))
        if self.causation_id:
            headers.append(("ce_causationid", self.causation_id))
        if self.traceparent:
            headers.append(("ce_traceparent", self.traceparent))
        return headers

    @property
    def key(self) -> bytes:
        """Kafka key: the aggregate id, so one aggregate's events share a partition and stay in order."""
        return self.subject.encode()


def topic_for_type(event_type: str) -> str:
    """``baylink.<service>.<aggregate>.<verb>.v1`` is published on ``baylink.<service>.v1``."""
    parts = event_type.split(".")
    if len(parts) < 5 or parts[0] != "baylink":
        raise ValueError(f"not a Baylink event type: {event_type!r}")
    return f"baylink.{parts[1]}.{parts[-1]}"


def from_kafka(headers: Sequence[tuple[str, bytes]] | None, value: bytes | None) -> CloudEvent:
    """Read a binary-mode CloudEvent back from a Kafka record's headers and value."""
    attrs: dict[str, str] = {}
    extra: list[tuple[str, bytes]] = []
    for name, raw in headers or ():
        if name.startswith("ce_") or name == "content-type":
            try:
                attrs[name] = raw.decode()
            except UnicodeDecodeError as exc:
                raise MalformedEvent(f"header {name} is not UTF-8") from exc
        else:
            extra.append((name, raw))
    missing = [h for h in REQUIRED_HEADERS if not attrs.get(h)]
    if missing:
        raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise MalformedEvent(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    try:
        time = datetime.fromisoformat(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(UTC)
    except ValueError as exc:
        raise MalformedEvent(f"ce_time is not ISO 8601: {attrs['ce_time']!r}") from exc
    return CloudEvent(
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        type=attrs["ce_type"],
        subject=attrs.get("ce_subject", ""),
        time=time,
        data=value or b"",
        content_type=attrs.get("content-type", CONTENT_TYPE),
        correlation_id=attrs.get("ce_correlationid"),
        causation_id=attrs.get("ce_causationid"),
        traceparent=attrs.get("ce_traceparent"),
        extra_headers=tuple(extra),
    )


class EventTypes:
    """The table of event types and their protobuf messages."""

    def __init__(self, messages: Iterable[type[Message]]):
        self._by_type: dict[str, type[Message]] = {}
        self._by_name: dict[str, str] = {}
        for cls in messages:
            event_type = _declared_type(cls)
            if not event_type:
                continue
            if event_type in self._by_type:
                raise ValueError(f"event type {event_type} declared twice")
            self._by_type[event_type] = cls
            self._by_name[cls.DESCRIPTOR.full_name] = event_type

    @classmethod
    def from_contracts(cls) -> EventTypes:
        """Every event message of ``baylink.events.v1``."""
        import baylink.events.v1 as package

        messages: list[type[Message]] = []
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.endswith("_pb2"):
                module = importlib.import_module(f"{package.__name__}.{info.name}")
                messages.extend(getattr(module, n) for n in module.DESCRIPTOR.message_types_by_name)
        return cls(messages)

    @property
    def types(self) -> list[str]:
        return sorted(self._by_type)

    def type_of(self, message: Message) -> str:
        try:
            return self._by_name[message.DESCRIPTOR.full_name]
        except KeyError:
            raise ValueError(f"{message.DESCRIPTOR.full_name} is not an event message") from None

    def decode(self, event: CloudEvent) -> Message:
        cls = self._by_type.get(event.type)
        if cls is None:
            raise MalformedEvent(f"unknown event type {event.type!r}")
        if event.content_type != CONTENT_TYPE:
            raise MalformedEvent(f"unsupported content-type {event.content_type!r}")
        message = cls()
        try:
            message.ParseFromString(event.data)
        except DecodeError as exc:
            raise MalformedEvent(f"body does not decode as {cls.DESCRIPTOR.full_name}") from exc
        return message

    def new(self, message: Message, *, subject: str, source: str, event_id: str | None = None) -> CloudEvent:
        """A new event for ``message`` about aggregate ``subject``, in the current call's context."""
        return CloudEvent(
            id=event_id or new_id(),
            source=source,
            type=self.type_of(message),
            subject=subject,
            time=datetime.now(UTC),
            data=message.SerializeToString(),
            correlation_id=correlation_id_var.get(),
            causation_id=causation_id_var.get(),
            traceparent=traceparent_var.get(),
        )


def _declared_type(cls: type[Message]) -> str:
    from baylink.events.v1 import options_pb2

    options = cls.DESCRIPTOR.GetOptions()
    if not options.HasExtension(options_pb2.event_type):
        return ""
    return str(options.Extensions[options_pb2.event_type])
