"""Partner cities' event stream: the registry's application events of a city's own authorities.

Built on ``baylink.ops``: one consumer per stream, outside any group, reading the registry's topic.
Only application events of the city's authorities pass (never a draft: no authority sees one yet);
the applicant appears under the city's own pseudonym, never the authority's. Each event carries a
cursor: the next offset of every partition once that event is delivered, so ``resume_after`` a cursor
continues exactly after it (a cursor is the city's own position, nothing more: a forged one still
shows only the city's events). Leaving the iteration stops the consumer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence

from google.protobuf.message import Message

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.ops.reader import open_assigned
from baylink.runtime.events import CloudEvent, EventTypes, MalformedEvent, from_kafka
from baylink.runtime.settings import KafkaSettings
from services.gateway.binding.service_layer.service import BindingService
from services.gateway.partner.adapters.registry_backend_mapping import CityPseudonyms

APPLICATION_EVENTS = "baylink.registry.application."
NOT_SHOWN = {"baylink.registry.application.drafted.v1"}
PERSON_FIELDS = ("applicant_ref",)  # registry events name people only here (as the authority's pseudonym)
CURSOR_PREFIX = "c1."


def encode_cursor(topic: str, positions: dict[int, int]) -> str:
    """A cursor: the topic and the next offset per partition, opaque to the city."""
    text = json.dumps({"t": topic, "p": {str(p): o for p, o in sorted(positions.items())}}, separators=(",", ":"))
    return CURSOR_PREFIX + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, topic: str) -> dict[int, int]:
    """Positions of a cursor this gateway issued for ``topic``; InvalidInput on anything else."""
    refused = errors.InvalidInput.field("resume_after", "not a cursor this gateway issued")
    if not cursor.startswith(CURSOR_PREFIX):
        raise refused
    body = cursor.removeprefix(CURSOR_PREFIX)
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        positions = {int(p): int(o) for p, o in data["p"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise refused from None
    if data.get("t") != topic or any(p < 0 or o < 0 for p, o in positions.items()):
        raise refused
    return positions


def subjects_of(event: pc.PartnerEvent, types: EventTypes) -> list[str]:
    """The pseudonyms an event discloses (for the bulk-leak guard)."""
    cloud = CloudEvent(event.id, event.source, event.type, event.subject, event.time.ToDatetime(), event.data)
    message = types.decode(cloud)
    return [
        getattr(message, f) for f in PERSON_FIELDS if f in message.DESCRIPTOR.fields_by_name and getattr(message, f)
    ]


class PartnerEventStream:
    def __init__(self, kafka: KafkaSettings, topic: str, bindings: BindingService, types: EventTypes | None = None):
        self.kafka = kafka
        self.topic = topic
        self.bindings = bindings
        self.types = types or EventTypes.from_contracts()
        self.allowed = frozenset(t for t in self.types.types if t.startswith(APPLICATION_EVENTS)) - NOT_SHOWN

    def check_types(self, types: Sequence[str]) -> frozenset[str]:
        """The types asked for (all allowed ones when none); InvalidInput naming any other."""
        unknown = sorted(set(types) - self.allowed)
        if unknown:
            raise errors.InvalidInput.field("types", f"not event types a city receives: {', '.join(unknown)}")
        return frozenset(types) or self.allowed

    async def stream(
        self, city: str, authority_codes: frozenset[str], resume_after: str, types: Sequence[str]
    ) -> AsyncIterator[pc.PartnerEvent]:
        """Events of ``authority_codes`` after ``resume_after`` (empty: from now), then new ones, until closed."""
        wanted = self.check_types(types)
        resume = decode_cursor(resume_after, self.topic) if resume_after else None
        async with open_assigned(self.kafka, [self.topic], f"partner-{city}") as (consumer, partitions):
            if not partitions:
                raise errors.Unavailable(f"the event topic {self.topic} is not available")
            ends = await consumer.end_offsets(partitions)
            firsts = await consumer.beginning_offsets(partitions)
            positions: dict[int, int] = {}
            for tp in partitions:
                start = ends[tp] if resume is None else max(resume.get(tp.partition, firsts[tp]), firsts[tp])
                consumer.seek(tp, start)
                positions[tp.partition] = start
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        positions[record.partition] = record.offset + 1
                        event = await self._shaped(city, authority_codes, wanted, record.headers, record.value)
                        if event is not None:
                            event.cursor = encode_cursor(self.topic, positions)
                            yield event

    async def _shaped(
        self, city: str, authorities: frozenset[str], wanted: frozenset[str], headers: object, value: bytes | None
    ) -> pc.PartnerEvent | None:
        try:
            cloud = from_kafka(headers, value)  # type: ignore[arg-type]
            if cloud.type not in wanted:
                return None
            message = self.types.decode(cloud)
        except MalformedEvent:
            return None  # not for cities (and the consumers' DLQ tells operators)
        authority = getattr(message, "authority_code", "")
        if authority not in authorities:
            return None
        await self._pseudonymise(message, city, authority)
        event = pc.PartnerEvent(id=cloud.id, source=cloud.source, type=cloud.type, subject=cloud.subject,
                                data=message.SerializeToString())  # fmt: skip
        event.time.FromDatetime(cloud.time)
        return event

    async def _pseudonymise(self, message: Message, city: str, authority: str) -> None:
        names = CityPseudonyms(self.bindings, city, authority)
        for name in PERSON_FIELDS:
            if name in message.DESCRIPTOR.fields_by_name:
                setattr(message, name, await names.of(getattr(message, name)))
