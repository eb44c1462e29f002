"""Gateway flow events as CloudEvents (binary mode) with ids derived from (flow, output)."""

from __future__ import annotations

import uuid
from datetime import datetime

from baylink.runtime.events import CloudEvent, EventTypes
from services.gateway.flows.state import Output

SOURCE = "/baylink/gateway"
_EVENTS = uuid.UUID("9d2f4b8a-5c1e-4e7d-8a3b-2f6c0d9e1a57")  # namespace of flow event ids


def flow_event_id(flow_id: str, key: str) -> str:
    return str(uuid.uuid5(_EVENTS, f"{flow_id}/{key}"))


def to_cloud_event(
    types: EventTypes, flow_id: str, output: Output, *, time: datetime, causation_id: str, traceparent: str | None
) -> CloudEvent:
    return CloudEvent(
        id=flow_event_id(flow_id, output.key),
        source=SOURCE,
        type=types.type_of(output.message),
        subject=flow_id,
        time=time,
        data=output.message.SerializeToString(),
        correlation_id=flow_id,
        causation_id=causation_id,
        traceparent=traceparent,
    )
