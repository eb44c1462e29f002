"""Domain → gateway events (baylink.gateway.v1): audit checkpoints and security alerts."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from baylink.events.v1 import gateway_events_pb2 as pb
from baylink.runtime.context import new_id
from baylink.runtime.events import CloudEvent, EventTypes
from services.gateway.audit.domain.chain import Checkpoint
from services.gateway.shared.domain.guard import SecurityAlert, Severity

SOURCE = "/baylink/gateway"
AUDIT_SUBJECT = "audit-log"  # one aggregate: checkpoints stay in order on one partition
_SEVERITY = {
    Severity.LOW: pb.ALERT_SEVERITY_LOW,
    Severity.MEDIUM: pb.ALERT_SEVERITY_MEDIUM,
    Severity.HIGH: pb.ALERT_SEVERITY_HIGH,
    Severity.CRITICAL: pb.ALERT_SEVERITY_CRITICAL,
}


class GatewaySecurityEvents:
    def __init__(self, types: EventTypes | None = None, source: str = SOURCE):
        self.types = types or EventTypes.from_contracts()
        self.source = source

    def checkpointed(self, checkpoint: Checkpoint) -> CloudEvent:
        message = pb.AuditCheckpointed(
            last_sequence=checkpoint.sequence,
            chain_hash=bytes.fromhex(checkpoint.head_hash),
            record_count=checkpoint.record_count,
            first_record_time=_timestamp(checkpoint.first_record_time),
            last_record_time=_timestamp(checkpoint.last_record_time),
        )
        return self.types.new(message, subject=AUDIT_SUBJECT, source=self.source)

    def alert_raised(self, alert: SecurityAlert, alert_id: str | None = None) -> CloudEvent:
        alert_id = alert_id or new_id()
        message = pb.SecurityAlertRaised(
            alert_id=alert_id,
            severity=_SEVERITY[alert.severity],
            kind=alert.kind,
            description=alert.description,
            city_code=alert.city_code,
            subject_pseudonym=alert.subject_pseudonym,
            certificate_fingerprint=alert.certificate_fingerprint,
        )
        return self.types.new(message, subject=alert_id, source=self.source)


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
