"""The expiry sweeper on both databases: what is due goes, soonest first, a batch at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.payments.bootstrap import Payments
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from tests.unit.payments.conftest import hkd, person, quote, request_for


async def test_the_sweeper_expires_what_is_due_soonest_first_and_leaves_the_rest(app: Payments) -> None:
    now = app.deps.clock()
    deadlines = {"late": 40, "soon": 10, "sooner": 5, "open": 3600}  # seconds from now
    for i, (tid, seconds) in enumerate(deadlines.items()):
        q = await quote(app, f"q-{tid}", hkd("25.00"))
        await prepare.prepare_transfer(
            app.deps, request_for(q, tid, payer_pseudonym=person(i), expires_at=now + timedelta(seconds=seconds))
        )
    app.deps.clock = lambda: now + timedelta(seconds=60)  # three deadlines have passed
    app.deps.policy = replace(app.deps.policy, expiry_batch_size=2)

    assert await complete.expire_due(app.deps) == 2  # a batch: the two soonest
    states = {tid: (await queries.get_transfer(app.deps, tid)).state for tid in deadlines}
    assert states == {
        "late": TransferState.RESERVED,
        "soon": TransferState.EXPIRED,
        "sooner": TransferState.EXPIRED,
        "open": TransferState.RESERVED,
    }
    assert await complete.expire_due(app.deps) == 1
    assert await complete.expire_due(app.deps) == 0
    assert (await queries.get_transfer(app.deps, "late")).state is TransferState.EXPIRED
    (position,) = await participants.positions(app.deps, "HKBANK")
    assert position.reserved == hkd("25.00")  # only the open one still holds its reservation
    report = await audit.audit(app.deps)
    assert report.breaches == []
