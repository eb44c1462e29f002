"""PostgreSQL stopped for 10 s under load, then started again: meanwhile calls fail with UNAVAILABLE and
a reason that says the database is down (kiosks see 503 DATABASE_UNAVAILABLE), never INTERNAL; no
process dies; afterwards everything resumes without a restart and the usual checks hold."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
from grpc import aio

from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.runtime.grpc.errors import from_rpc_error
from tests.chaos.cluster import Cluster
from tests.chaos.load import FailoverKiosk, Load
from tests.chaos.report import RECOVERY_GOAL_SECONDS
from tests.chaos.scenario import assert_clean, under_load

OUTAGE_SECONDS = 10.0
FORBIDDEN = ("Exception in ASGI application", "unhandled error in", "event dead-lettered", "kiosk request failed")


async def probe(load: Load, seen: Counter[str], until: float) -> None:
    """Ask payments (gRPC, mTLS), the partner API and the kiosk door every half second; count the answers."""
    kiosk = FailoverKiosk(load.cluster.kiosk_urls(), load.cluster.pki_dir, "HK-CHAOS-PROBE", load.calls)
    known = next((r.application_id for r in load.registrations if r.application_id), "none")
    try:
        while time.monotonic() < until:
            calls = {
                "payments": load.payments.ListTransfers(pay.ListTransfersRequest(reference="none"), timeout=5),
                "partner": load.partners[0].GetApplication(api.GetApplicationRequest(application_id=known), timeout=5),
            }
            for name, call in calls.items():
                try:
                    await call
                    seen[f"{name} OK"] += 1
                except aio.AioRpcError as exc:
                    seen[f"{name} {exc.code().name} {from_rpc_error(exc).reason}"] += 1
            client = kiosk.clients[0]
            try:
                response = await client.post("/v1/sessions", json={"kiosk_id": "HK-CHAOS-PROBE", "language": "en"})
                code = response.json().get("code", "") if response.status_code >= 400 else ""
                seen[f"kiosk {response.status_code} {code}".strip()] += 1
            except httpx.TransportError as exc:
                seen[f"kiosk {type(exc).__name__}"] += 1
            await asyncio.sleep(0.5)
    finally:
        await kiosk.aclose()


async def test_postgres_down_ten_seconds(cluster: Cluster) -> None:
    pids = {name: cluster.pid(name) for name in cluster.processes()}
    seen: Counter[str] = Counter()

    async def outage(load: Load) -> tuple[float, str]:
        moment = time.monotonic()
        await asyncio.to_thread(cluster.pg, "stop")
        stopped = time.monotonic()
        try:
            await probe(load, seen, stopped + OUTAGE_SECONDS)
        finally:  # whatever the probe met, PostgreSQL comes back
            await asyncio.to_thread(cluster.pg, "start")
        back = time.monotonic()
        answers = ", ".join(f"{k} ×{n}" for k, n in sorted(seen.items()))
        # Recovery counts from PostgreSQL's return: before it, nothing that needs the database can succeed.
        return back, (
            f"pg.sh stop ({stopped - moment:.1f} s), {OUTAGE_SECONDS:.0f} s down, pg.sh start ({back - stopped:.1f} s "
            f"after stop); recovery counted from the start; answers meanwhile: {answers}"
        )

    logs = sorted(cluster.logs.glob("*.log"))
    sizes = {log: log.stat().st_size for log in logs}
    outcome = await under_load(cluster, "PostgreSQL down 10 s", "pg.sh stop; 10 s; pg.sh start", outage)
    # No request answered as a bug, no event given up on, because the database was away for a while.
    # (Background loops retrying meanwhile may log errors: payments' expiry sweep, the audit checkpoint.)
    texts = {log.name: _since(log, sizes[log]) for log in logs}
    wrong = {name: [m for m in FORBIDDEN if m in text] for name, text in texts.items()}
    assert not {name: found for name, found in wrong.items() if found}, wrong
    assert_clean(outcome)
    assert {name: cluster.pid(name) for name in cluster.processes()} == pids, "a process died or was restarted"
    refusals = [k for k in seen if not k.endswith("OK")]
    assert any(k.startswith("payments UNAVAILABLE DATABASE_UNAVAILABLE") for k in refusals), seen
    assert any(k.startswith("kiosk 503 DATABASE_UNAVAILABLE") for k in refusals), seen
    assert not [k for k in seen if "INTERNAL" in k or " 500" in k], seen
    assert outcome.recovery_seconds is not None and outcome.recovery_seconds < RECOVERY_GOAL_SECONDS, outcome.show()


def _since(log: Path, offset: int) -> str:
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")
