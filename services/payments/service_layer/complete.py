"""Phase two: commit or abort a reserved transfer; expire the ones nobody finished in time.

Each leaves RESERVED through one guarded UPDATE (``WHERE state = 'RESERVED'``,
and for a commit ``AND expires_at > now``), so of a commit, an abort and the
expiry sweep racing for one transfer exactly one wins; the others see the
winner's result. A commit posts the transfer to the ledger exactly once (the
postings' unique key enforces it too).
"""

from __future__ import annotations

from datetime import datetime

from baylink.errors import BaylinkError, FailedPrecondition, NotFound, PreconditionViolation
from services.payments.domain.events import TransferAborted, TransferCommitted, TransferExpired
from services.payments.domain.ledger import commit_postings, position_account
from services.payments.domain.transfer import Transfer, TransferState
from services.payments.service_layer.group_commit import group_of
from services.payments.service_layer.unit_of_work import Deps, UnitOfWork
from services.payments.service_layer.windows import current_window

MAX_REASON = 500


def _not_reserved(t: Transfer) -> FailedPrecondition:
    return FailedPrecondition(
        f"transfer {t.transfer_id} is {t.state.value}" + (f" ({t.abort_code})" if t.abort_code else ""),
        [PreconditionViolation("STATE", f"transfer/{t.transfer_id}", t.state.value)],
        reason=f"TRANSFER_{t.state.value}",
    )


async def commit_transfer(deps: Deps, transfer_id: str) -> Transfer:
    """Commit the transfer, in a group-committed batch when it can, else on its own."""
    group = group_of(deps)
    if group is not None and (committed := await group.commit(transfer_id)) is not None:
        return committed
    return await commit_one(deps, transfer_id)


async def commit_one(deps: Deps, transfer_id: str) -> Transfer:
    """The commit in a transaction of its own: replays, expiry at commit time, lost races."""
    now = deps.clock()
    failure: BaylinkError | None = None
    async with deps.uow() as uow:
        t = await _load(uow, transfer_id)
        if t.state is TransferState.COMMITTED:
            return t
        if t.state is not TransferState.RESERVED:
            raise _not_reserved(t)
        if t.expired_at(now):
            # Too late: it expires now, in this transaction, and the caller learns why.
            await _expire_one(uow, t, now)
            failure = _not_reserved(t.expired(now))
        else:
            window = await current_window(deps, uow, now)
            committed = t.committed(now, window.settlement_window_id)
            if not await uow.transfers.finish(t, committed, now=now):
                failure = await _lost_race(uow, transfer_id, want=TransferState.COMMITTED)
                if failure is None:
                    return await _load(uow, transfer_id)
            else:
                await uow.ledger.post(
                    commit_postings(committed),
                    journal_kind="COMMIT",
                    journal_id=t.transfer_id,
                    window_id=window.settlement_window_id,
                    now=now,
                    pending_release=(position_account(t.payer_id, t.send.currency), t.send.minor),
                )
                uow.record(TransferCommitted(committed))
                return committed
    assert failure is not None
    raise failure


async def abort_transfer(deps: Deps, transfer_id: str, reason: str) -> Transfer:
    now = deps.clock()
    reason = reason.strip()[:MAX_REASON] or "aborted by request"
    async with deps.uow() as uow:
        t = await _load(uow, transfer_id)
        if t.state is TransferState.ABORTED:
            return t
        if t.state is not TransferState.RESERVED:
            raise _not_reserved(t)
        aborted = t.aborted(now, "ABORTED_BY_REQUEST", reason)
        if not await uow.transfers.finish(t, aborted):
            failure = await _lost_race(uow, transfer_id, want=TransferState.ABORTED)
            if failure is not None:
                raise failure
            return await _load(uow, transfer_id)
        await _release(uow, t)
        uow.record(TransferAborted(aborted))
        return aborted


async def expire_due(deps: Deps) -> int:
    """Expire reserved transfers whose deadline has passed. Returns how many."""
    now = deps.clock()
    due = await deps.store.due_for_expiry(now, deps.policy.expiry_batch_size)
    if not due:
        return 0
    expired = 0
    async with deps.uow() as uow:
        for t in due:
            expired += await _expire_one(uow, t, now)
    return expired


async def _expire_one(uow: UnitOfWork, t: Transfer, now: datetime) -> int:
    after = t.expired(now)
    if not await uow.transfers.finish(t, after):
        return 0  # committed or aborted meanwhile
    await _release(uow, t)
    uow.record(TransferExpired(after))
    return 1


async def _release(uow: UnitOfWork, t: Transfer) -> None:
    await uow.ledger.release(position_account(t.payer_id, t.send.currency), t.send.minor)
    if t.usage_day:
        await uow.ledger.give_back_usage(t.payer_pseudonym, t.corridor, t.usage_day, t.usage_year, t.send.minor)


async def _load(uow: UnitOfWork, transfer_id: str) -> Transfer:
    t = await uow.transfers.get(transfer_id)
    if t is None:
        raise NotFound("transfer", transfer_id)
    return t


async def _lost_race(uow: UnitOfWork, transfer_id: str, want: TransferState) -> BaylinkError | None:
    """Someone finished the transfer first: None if they did what we wanted, else why not."""
    now_state = await _load(uow, transfer_id)
    return None if now_state.state is want else _not_reserved(now_state)
