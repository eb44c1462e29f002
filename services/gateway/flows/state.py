"""One flow's progress and what each observed event makes of it; pure, so it is tested without Kafka.

A flow is known by its correlation id. Each step is recorded with the id of the event that completed
it: the same event seen again (a redelivery after a restart) yields the same outputs again, whose
event ids are derived from (flow, output) so consumers drop the copies; a different event for a step
already done (the fee paid seen from the registry and from payments) yields nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from google.protobuf.message import Message

from baylink.events.v1 import gateway_events_pb2 as gateway_events
from baylink.events.v1 import payments_events_pb2 as payments_events
from baylink.events.v1 import registry_events_pb2 as registry_events

ENDINGS = {
    "approved": gateway_events.FLOW_OUTCOME_SUCCEEDED,
    "rejected": gateway_events.FLOW_OUTCOME_REJECTED,
    "withdrawn": gateway_events.FLOW_OUTCOME_CANCELLED,
}
WATCHED = (
    registry_events.ApplicationDrafted,
    registry_events.ApplicationSubmitted,
    registry_events.ApplicationFeeRequested,
    registry_events.ApplicationFeePaid,
    registry_events.ApplicationReviewStarted,
    registry_events.ApplicationApproved,
    registry_events.ApplicationRejected,
    registry_events.ApplicationWithdrawn,
    payments_events.TransferCommitted,
)


@dataclass(frozen=True)
class Output:
    """A gateway event to publish; ``key`` names it within the flow (its event id derives from it)."""

    key: str
    message: Message


@dataclass
class Flow:
    flow_id: str
    flow_type: str = "company_registration"
    channel: str = ""
    application_id: str = ""
    authority_code: str = ""
    subject: str = ""
    steps: dict[str, str] = field(default_factory=dict)  # step → id of the event that completed it
    started_by: str = ""
    fee_reference: str = ""
    fee_requested_at: float = 0.0
    fee_transfer_id: str = ""
    committed: dict[str, list[str]] = field(default_factory=dict)  # reference → [transfer id, event id]
    ended: str = ""  # approved, rejected or withdrawn
    refund_due: bool = False
    refund_transfer_id: str = ""
    overdue: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flow:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def fee_paid(self) -> bool:
        return "fee_paid" in self.steps

    @property
    def awaiting_fee(self) -> bool:
        return not self.ended and "fee_requested" in self.steps and not self.fee_paid

    def observe(self, event_id: str, message: Message, time: float) -> list[Output]:
        """Apply one registry or payments event; returns the gateway events it calls for."""
        if isinstance(message, payments_events.TransferCommitted):
            return self._committed(event_id, message)
        app_id = str(getattr(message, "application_id", ""))
        if self.application_id and app_id and app_id != self.application_id:
            return []  # one flow, one application: another's events (an old caller-chosen flow id) move nothing
        self.application_id = self.application_id or app_id
        self.authority_code = self.authority_code or str(getattr(message, "authority_code", ""))
        self.subject = self.subject or str(getattr(message, "applicant_ref", ""))
        if isinstance(message, registry_events.ApplicationDrafted):
            return self._step("drafted", event_id, [app_id])
        if isinstance(message, registry_events.ApplicationSubmitted):
            return self._step("submitted", event_id, [app_id])
        if isinstance(message, registry_events.ApplicationFeeRequested):
            return self._fee_requested(event_id, message, time)
        if isinstance(message, registry_events.ApplicationFeePaid):
            self.fee_transfer_id = self.fee_transfer_id or message.transfer_id
            return self._step("fee_paid", event_id, [app_id, message.transfer_id])
        if isinstance(message, registry_events.ApplicationReviewStarted):
            return self._step("review_started", event_id, [app_id])
        if isinstance(message, registry_events.ApplicationApproved):
            return self._end("approved", event_id, [app_id, message.uscc])
        if isinstance(message, registry_events.ApplicationRejected | registry_events.ApplicationWithdrawn):
            if message.fee_paid and message.fee_transfer_id:
                self.fee_transfer_id = self.fee_transfer_id or message.fee_transfer_id
            word = "rejected" if isinstance(message, registry_events.ApplicationRejected) else "withdrawn"
            return self._end(word, event_id, [app_id], fee_paid=message.fee_paid)
        return []

    def refunded(self, refund_transfer_id: str) -> list[Output]:
        """The refund is committed: record it, report the compensation and the flow's end."""
        self.refund_due = False
        self.refund_transfer_id = refund_transfer_id
        return self._compensation()

    def overdue_check(self, now: float, overdue_after: float) -> list[Output]:
        """A timer tick: an unpaid fee past its time is reported once."""
        if self.overdue or not self.awaiting_fee or now - self.fee_requested_at < overdue_after:
            return []
        self.overdue = True
        related = [self.application_id, self.fee_reference]
        return [Output("step/fee_overdue", gateway_events.FlowStepCompleted(flow_id=self.flow_id, step="fee_overdue",
                                                                related_ids=related))]  # fmt: skip

    def needs_tick(self, now: float, overdue_after: float) -> bool:
        overdue = not self.overdue and self.awaiting_fee and now - self.fee_requested_at >= overdue_after
        return overdue or self.refund_due

    # -- steps

    def _step(self, name: str, event_id: str, related: list[str]) -> list[Output]:
        done_by = self.steps.get(name)
        if done_by is not None and done_by != event_id:
            return []  # the step is done already, by another event
        if self.ended and done_by is None:
            return []  # nothing moves after the end
        self.steps[name] = event_id
        outputs: list[Output] = []
        if self.started_by in ("", event_id):
            self.started_by = event_id
            started = gateway_events.FlowStarted(
                flow_id=self.flow_id, flow_type=self.flow_type, subject_pseudonym=self.subject,
                authority_code=self.authority_code, channel=self.channel,
            )  # fmt: skip
            outputs.append(Output("started", started))
        step = gateway_events.FlowStepCompleted(flow_id=self.flow_id, step=name, related_ids=[r for r in related if r])
        outputs.append(Output(f"step/{name}", step))
        return outputs

    def _fee_requested(
        self, event_id: str, message: registry_events.ApplicationFeeRequested, time: float
    ) -> list[Output]:
        if not self.fee_reference:
            self.fee_reference = message.payment_reference
            self.fee_requested_at = time
        outputs = self._step("fee_requested", event_id, [message.application_id, message.payment_reference])
        early = self.committed.get(self.fee_reference)
        if early is not None:  # payments committed the fee before the registry's request reached us
            outputs += self._fee_committed(early[0], early[1])
        return outputs

    def _committed(self, event_id: str, message: payments_events.TransferCommitted) -> list[Output]:
        if self.fee_reference and message.reference == self.fee_reference:
            return self._fee_committed(message.transfer_id, event_id)
        self.committed[message.reference] = [message.transfer_id, event_id]
        return []

    def _fee_committed(self, transfer_id: str, event_id: str) -> list[Output]:
        self.fee_transfer_id = self.fee_transfer_id or transfer_id
        return self._step("fee_paid", event_id, [self.application_id, transfer_id])

    def _end(self, word: str, event_id: str, related: list[str], *, fee_paid: bool = False) -> list[Output]:
        if self.ended and self.ended != word:
            return []
        outputs = self._step(word, event_id, related)
        if not outputs:
            return []
        self.ended = word
        if word != "approved" and (fee_paid or self.fee_paid) and self.fee_transfer_id:
            if self.refund_transfer_id:
                return outputs + self._compensation()  # a redelivery: the same events again
            self.refund_due = True  # the caller refunds, then calls refunded()
            return outputs
        completed = gateway_events.FlowCompleted(flow_id=self.flow_id, flow_type=self.flow_type, outcome=ENDINGS[word])
        return [*outputs, Output("completed", completed)]

    def _compensation(self) -> list[Output]:
        refund = gateway_events.FlowStepCompleted(
            flow_id=self.flow_id, step="refund", related_ids=[self.refund_transfer_id, self.application_id]
        )
        compensated = gateway_events.FlowCompensated(
            flow_id=self.flow_id,
            failed_step=self.ended,
            compensated_steps=["fee_paid"],
            reason=f"application {self.ended} after payment: fee refunded by transfer {self.refund_transfer_id}",
        )
        completed = gateway_events.FlowCompleted(
            flow_id=self.flow_id, flow_type=self.flow_type, outcome=ENDINGS[self.ended]
        )
        return [Output("step/refund", refund), Output("compensated", compensated), Output("completed", completed)]


class RefundRetries:
    """Flows whose refund failed in this worker: each gets one tick at the next retry round, and is
    noted again if that attempt fails too. Lost with the process: the scan finds them after a restart."""

    def __init__(self) -> None:
        self._owed: set[str] = set()

    def note(self, flow_id: str, *, owed: bool) -> None:
        if owed:
            self._owed.add(flow_id)
        else:
            self._owed.discard(flow_id)

    def take(self) -> list[str]:
        due, self._owed = sorted(self._owed), set()
        return due
