"""PrepareTransfers and CommitTransfers: many transfers in one call, each answered as its own call.

A bulk's items are queued into the group commit together, so they are written
in as few transactions as the batch size allows; an item the fast path does not
simply accept (a retry, a refusal, a duplicate within the bulk) is then run by
the one-by-one use case, in request order, exactly as the unary call would run
it. Each item's outcome is its transfer or its error; one item's error never
touches another, and the caller is answered only when every item is durable.
"""

from __future__ import annotations

from baylink.errors import BaylinkError
from services.payments.domain.transfer import PrepareTransfer, Transfer
from services.payments.service_layer.complete import commit_one
from services.payments.service_layer.group_commit import group_of
from services.payments.service_layer.prepare import prepare_one, validate
from services.payments.service_layer.unit_of_work import Deps

MAX_ITEMS = 500  # a bulk is answered in one go, so bounded; it fills batches of up to group_commit_max

Outcome = Transfer | Exception


async def prepare_transfers(deps: Deps, items: list[PrepareTransfer | BaylinkError]) -> list[Outcome]:
    """Reserve each item as PrepareTransfer would; an item given as an error (it did not parse) stays one."""
    now, max_ttl = deps.clock(), deps.policy.max_transfer_ttl_seconds
    outcomes: list[Outcome | None] = [None] * len(items)
    queued: list[tuple[int, PrepareTransfer, str]] = []
    for index, item in enumerate(items):
        if isinstance(item, BaylinkError):
            outcomes[index] = item
            continue
        try:
            validate(item, now, max_ttl)
            queued.append((index, item, item.fingerprint()))
        except BaylinkError as error:
            outcomes[index] = error
    group = group_of(deps)
    fast: list[Transfer | None] = [None] * len(queued)
    if group is not None and queued:
        fast = await group.prepare_many([(req, fingerprint) for _, req, fingerprint in queued])
    for (index, req, fingerprint), reserved in zip(queued, fast, strict=True):
        if reserved is not None:
            outcomes[index] = reserved
            continue
        try:
            outcomes[index] = await prepare_one(deps, req, fingerprint)
        except Exception as error:  # noqa: BLE001 - the item's own error (INTERNAL if unmapped); the others go on
            outcomes[index] = error
    return _all(outcomes)


async def commit_transfers(deps: Deps, transfer_ids: list[str]) -> list[Outcome]:
    """Commit each transfer as CommitTransfer would, in request order."""
    group = group_of(deps)
    fast: list[Transfer | None] = [None] * len(transfer_ids)
    if group is not None and transfer_ids:
        fast = await group.commit_many(transfer_ids)
    outcomes: list[Outcome | None] = list(fast)
    for index, transfer_id in enumerate(transfer_ids):
        if outcomes[index] is not None:
            continue
        try:
            outcomes[index] = await commit_one(deps, transfer_id)
        except Exception as error:  # noqa: BLE001 - as above
            outcomes[index] = error
    return _all(outcomes)


def _all(outcomes: list[Outcome | None]) -> list[Outcome]:
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(outcomes), "every item has an outcome"
    return done
