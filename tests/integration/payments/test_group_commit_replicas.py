"""Two replicas group-committing against one database (SQLite file, PostgreSQL): still exactly what fits."""

from __future__ import annotations

import asyncio

from baylink.errors import BaylinkError, FailedPrecondition
from services.payments.bootstrap import Payments, bootstrap
from services.payments.config import PaymentsSettings
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, complete, participants, prepare, queries
from services.payments.service_layer.unit_of_work import utc_now
from tests.unit.payments.conftest import hkd, quote, request_for


def person(i: int) -> str:
    return f"{i:04x}" * 16


async def test_two_replicas_bursting_against_one_cap_reserve_exactly_what_fits(app: Payments) -> None:
    other = bootstrap(PaymentsSettings(database_url=app.deps.db.url), clock=utc_now)
    try:
        await participants.set_net_debit_cap(app.deps, "HKBANK", hkd("2000.00"))
        qs = [await quote(app, f"q{i}", hkd("70.00")) for i in range(60)]
        replicas = (app, other)
        results = await asyncio.gather(
            *(
                prepare.prepare_transfer(replicas[i % 2].deps, request_for(q, f"t{i}", payer_pseudonym=person(i)))
                for i, q in enumerate(qs)
            ),
            return_exceptions=True,
        )
        reserved = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(reserved) == 28, refused  # 28 × 70 = 1960 ≤ 2000 < 29 × 70
        assert all(isinstance(r, FailedPrecondition) and r.reason == "NET_DEBIT_CAP_EXCEEDED" for r in refused)

        # Both replicas commit and abort the same transfers at once: each ends once, posted at most once.
        outcomes = await asyncio.gather(
            *(complete.commit_transfer(r.deps, t.transfer_id) for t in reserved for r in replicas),
            *(complete.abort_transfer(other.deps, t.transfer_id, "race") for t in reserved[::4]),
            return_exceptions=True,
        )
        assert all(isinstance(o, BaylinkError) or o.state.final for o in outcomes), outcomes
        finals = [await queries.get_transfer(app.deps, t.transfer_id) for t in reserved]
        assert all(t.state in (TransferState.COMMITTED, TransferState.ABORTED) for t in finals)
        committed = sum(t.state is TransferState.COMMITTED for t in finals)
        report = await audit.audit(app.deps)
        assert report.breaches == [] and report.committed == committed
        (position,) = await participants.positions(app.deps, "HKBANK")
        assert position.reserved.minor == 0 and position.position.minor == 7_000 * committed
    finally:
        await other.deps.db.dispose()
