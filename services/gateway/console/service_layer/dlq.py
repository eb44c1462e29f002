"""Dead letters for operators: list them with their resolution, replay or discard each once, audited.

Replay produces the original record again to its original topic inside the transaction that records
the resolution, so two operators clicking at once replay it once: the second finds the row (409).
Each action is appended to the audit log as ``operator:<name>``, under the dead event's flow id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from baylink import errors
from baylink.ops.dlq import DeadLetter, DeadLetterIndex, parse_dlq_id
from baylink.ops.records import iso
from baylink.runtime.context import correlation_scope
from services.gateway.audit.domain.chain import details_text
from services.gateway.audit.service_layer.log import AuditLog

Status = Literal["open", "all"]


@dataclass(frozen=True)
class Resolution:
    dlq_id: str
    status: str  # replayed | discarded
    actor: str
    reason: str
    resolved_at: datetime
    original_topic: str
    event_id: str


class Resolutions(Protocol):
    async def all(self) -> dict[str, Resolution]: ...

    async def resolve(self, resolution: Resolution, effect: Callable[[], Awaitable[object]] | None = None) -> None: ...


class Replayer(Protocol):
    async def replay(self, letter: DeadLetter) -> None: ...


def item(letter: DeadLetter, resolution: Resolution | None) -> dict[str, Any]:
    """The console's DLQ item: the dead letter and how (whether) it was resolved."""
    return {
        **letter.to_json(),
        "status": resolution.status if resolution else "open",
        "resolved_by": resolution.actor if resolution else "",
        "resolved_at": iso(resolution.resolved_at) if resolution else "",
        "reason": resolution.reason if resolution else "",
    }


class ConsoleDlq:
    def __init__(self, index: DeadLetterIndex, store: Resolutions, replayer: Replayer, audit: AuditLog):
        self.index = index
        self.store = store
        self.replayer = replayer
        self.audit = audit

    async def items(self, status: Status = "open") -> list[dict[str, Any]]:
        """Dead letters, newest first; ``open``: only those nobody resolved yet."""
        letters = await self.index.refresh()
        resolved = await self.store.all()
        shown = [item(d, resolved.get(d.dlq_id)) for d in reversed(letters)]
        return [i for i in shown if status == "all" or i["status"] == "open"]

    async def replay(self, dlq_id: str, actor: str) -> dict[str, Any]:
        """Produce the original record again, once; 409 (FailedPrecondition) if already resolved."""
        letter = await self._letter(dlq_id)
        if not letter.original_topic:
            raise errors.FailedPrecondition(f"dead letter {dlq_id} does not name its original topic",
                                            reason="DLQ_ITEM_WITHOUT_ORIGIN")  # fmt: skip
        return await self._resolve(letter, "replayed", actor, "", lambda: self.replayer.replay(letter))

    async def discard(self, dlq_id: str, actor: str, reason: str) -> dict[str, Any]:
        """Mark the dead letter as not to be replayed, with the operator's reason."""
        if not reason.strip():
            raise errors.InvalidInput.field("reason", "say why the event is discarded")
        letter = await self._letter(dlq_id)
        return await self._resolve(letter, "discarded", actor, reason.strip(), None)

    async def _letter(self, dlq_id: str) -> DeadLetter:
        try:
            topic, _, _ = parse_dlq_id(dlq_id)
        except ValueError as exc:
            raise errors.InvalidInput.field("dlq_id", str(exc)) from None
        letter = self.index.get(dlq_id)
        if letter is None and topic == self.index.topic:
            await self.index.refresh()
            letter = self.index.get(dlq_id)
        if letter is None:
            raise errors.NotFound("dead letter", dlq_id)
        return letter

    async def _resolve(
        self, letter: DeadLetter, status: str, actor: str, reason: str, effect: Callable[[], Awaitable[object]] | None
    ) -> dict[str, Any]:
        details = {"dlq_id": letter.dlq_id, "original_topic": letter.original_topic, "event_type": letter.event_type,
                   "event_id": letter.event_id, "reason": reason[:500]}  # fmt: skip
        details_text(details)  # refused now, before anything happens, rather than after the replay
        resolution = Resolution(letter.dlq_id, status, actor, reason, datetime.now(UTC), letter.original_topic,
                                letter.event_id)  # fmt: skip
        await self.store.resolve(resolution, effect)
        with correlation_scope(letter.correlation_id or None):
            await self.audit.record(actor, f"console.dlq.{status.removesuffix('ed')}", "OK", details=details)
        return item(letter, resolution)
