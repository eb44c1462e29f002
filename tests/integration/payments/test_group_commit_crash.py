"""Killed mid-burst (SIGKILL, no shutdown): every answered prepare and commit is in the ledger after restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from services.payments.bootstrap import Payments, bootstrap
from services.payments.config import PaymentsSettings
from services.payments.domain.transfer import TransferState
from services.payments.service_layer import audit, queries
from services.payments.service_layer.unit_of_work import utc_now

# The service's use cases in a process of their own, answering a burst of two-phase transfers and
# reporting each answer on stdout the moment it has it; it never stops by itself.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from services.payments.bootstrap import bootstrap
    from services.payments.config import PaymentsSettings
    from services.payments.domain.money import Money
    from services.payments.domain.pricing import AmountType
    from services.payments.service_layer import complete, prepare, quotes
    from services.payments.service_layer.unit_of_work import utc_now
    from tests.unit.payments.conftest import request_for

    async def main(url):
        app = bootstrap(PaymentsSettings(database_url=url), clock=utc_now)
        async def one(i):
            q = await quotes.create_quote(app.deps, quotes.CreateQuote(
                f"q{i}", "HKBANK", "REGISTRY", AmountType.SEND, Money("HKD", 1000 + i), "CNY"))
            await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}", payer_pseudonym=f"{i:04x}" * 16))
            print("P", f"t{i}", flush=True)
            await complete.commit_transfer(app.deps, f"t{i}")
            print("C", f"t{i}", flush=True)
        i = 0
        while True:
            await asyncio.gather(*(one(i + k) for k in range(16)))
            i += 16

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_a_killed_service_loses_nothing_it_answered(app: Payments) -> None:
    url = app.deps.db.url
    await app.deps.db.dispose()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()}
    )
    answered: dict[str, str] = {}
    assert child.stdout is not None
    try:
        async with asyncio.timeout(120):
            while sum(1 for kind in answered.values() if kind == "C") < 60:
                line = (await child.stdout.readline()).decode().split()
                assert line, "the child stopped on its own"
                answered[line[1]] = line[0]
    finally:
        child.send_signal(signal.SIGKILL)  # mid-burst: batches in flight are cut off
        await child.wait()

    restarted = bootstrap(PaymentsSettings(database_url=url), clock=utc_now)
    try:
        for transfer_id, kind in answered.items():
            state = (await queries.get_transfer(restarted.deps, transfer_id)).state
            wanted = (TransferState.COMMITTED,) if kind == "C" else (TransferState.RESERVED, TransferState.COMMITTED)
            assert state in wanted, (transfer_id, kind, state)
        report = await audit.audit(restarted.deps)
        assert report.breaches == [] and report.committed >= 60
    finally:
        await restarted.deps.db.dispose()
