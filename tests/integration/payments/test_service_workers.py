"""``python -m services.payments`` as two worker processes on one port (SQLite file, PostgreSQL).

The real entry point, as a deployment starts it (``BAYLINK_PAYMENTS_WORKERS=2``): calls spread over
both workers by connection still reserve exactly what fits under one net debit cap, each transfer
ends once, every event goes out once (only the relay holding the lease publishes, whichever worker
committed), the ledger audit is clean, and SIGTERM stops the whole service with exit status 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.payments.v1 import transfer_pb2
from baylink.runtime.events import topic_for_type
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.settings import KafkaSettings
from services.payments.bootstrap import bootstrap
from services.payments.config import PaymentsSettings
from services.payments.service_layer import audit
from tests.e2e.stack import seed_payments
from tests.integration.payments.conftest import database_url
from tests.integration.payments.test_grpc_api import error_info, hkd, prepare_request
from tests.support.ports import free_port
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
CONNECTIONS = 8  # the kernel gives each connection to one worker: all 8 on one has odds 1 in 128


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database_url(request.param, tmp_path) as url:
        yield url


@asynccontextmanager
async def two_workers(url: str, port: int, kafka: KafkaSettings) -> AsyncIterator[asyncio.subprocess.Process]:
    """The service serving on ``port`` once both workers serve; SIGTERM and wait on the way out."""
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "BAYLINK_PAYMENTS_DATABASE_URL": url,
        "BAYLINK_PAYMENTS_WORKERS": "2",
        "BAYLINK_PAYMENTS_GRPC_PORT": str(port),
        "BAYLINK_PAYMENTS_ANNOUNCE": "false",  # .local/run belongs to `make up`
        "BAYLINK_PAYMENTS_METRICS_PORT": "0",
        "BAYLINK_PAYMENTS_OUTBOX_POLL_SECONDS": "0.1",  # the other worker's commits wait for the lease holder's poll
        "BAYLINK_PAYMENTS_DRAIN_DELAY_SECONDS": "0",
        "BAYLINK_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
    }
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.payments", env=env, stdout=asyncio.subprocess.PIPE
    )
    assert service.stdout is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(120):
            while b"workers serving" not in (line := await service.stdout.readline()):  # the supervisor's line
                assert line, "the service stopped before serving"
        drain = asyncio.create_task(service.stdout.read())  # keep reading its log
        yield service
    finally:
        if service.returncode is None:
            service.send_signal(signal.SIGTERM)
        await asyncio.wait_for(service.wait(), 60)
        if drain is not None:
            await drain


async def test_two_workers_hold_one_cap_end_each_transfer_once_and_publish_every_event_once(
    url: str, kafka_settings: KafkaSettings
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    port = free_port()
    run = os.urandom(4).hex()
    async with two_workers(url, port, kafka_settings) as service:
        channels = [insecure_channel(f"127.0.0.1:{port}", own_connection=True) for _ in range(CONNECTIONS)]
        stubs = [api_grpc.PaymentsServiceStub(channel) for channel in channels]
        await seed_payments(port)
        await stubs[0].SetNetDebitCap(api.SetNetDebitCapRequest(participant_id="HKBANK", net_debit_cap=hkd(200_000)))

        async def quote(i: int) -> transfer_pb2.Quote:
            request = api.CreateQuoteRequest(
                quote_id=f"{run}-q{i}", payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
                amount_type=transfer_pb2.AMOUNT_TYPE_SEND, amount=hkd(7_000), counter_currency="CNY",
            )  # fmt: skip
            return (await stubs[i % CONNECTIONS].CreateQuote(request)).quote

        quotes = await asyncio.gather(*(quote(i) for i in range(60)))
        # 60 prepares of HK$70 over 8 connections, so over both workers, against a cap of HK$2,000.
        prepares = await asyncio.gather(
            *(
                stubs[i % CONNECTIONS].PrepareTransfer(
                    prepare_request(q, f"{run}-t{i}", payer_pseudonym=f"{i:04x}" * 16)
                )
                for i, q in enumerate(quotes)
            ),
            return_exceptions=True,
        )
        reserved = [p.transfer for p in prepares if isinstance(p, api.PrepareTransferResponse)]
        refused = [p for p in prepares if not isinstance(p, api.PrepareTransferResponse)]
        reserved_minor = sum(t.send_amount.minor_units for t in reserved)
        assert reserved_minor <= 200_000 < reserved_minor + 7_000  # exactly what fits, across both workers
        for error in refused:
            assert isinstance(error, grpc.aio.AioRpcError), error
            code, reason, _, _ = error_info(error)
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NET_DEBIT_CAP_EXCEEDED")

        # Every reserved transfer committed twice at once, over two connections: one commit, one replay.
        commits = await asyncio.gather(
            *(
                stubs[(k + shift) % CONNECTIONS].CommitTransfer(api.CommitTransferRequest(transfer_id=t.transfer_id))
                for k, t in enumerate(reserved)
                for shift in (0, 1)
            )
        )
        assert all(c.transfer.state == transfer_pb2.TRANSFER_STATE_COMMITTED for c in commits)

        ours = {t.transfer_id.encode() for t in reserved}
        wanted = 2 * len(reserved)  # one transfer.reserved and one transfer.committed each
        records = await scan_topic(
            kafka_settings, topic_for_type("baylink.payments.transfer.committed.v1"), since=since, linger_ms=1500,
            match=lambda r: r.key in ours, done=lambda found: len(found) >= wanted,
        )  # fmt: skip
        kinds = sorted((r.key, dict(r.headers)["ce_type"]) for r in records)
        assert len(kinds) == wanted and len(set(kinds)) == wanted  # each once, none twice
        for channel in channels:
            await channel.close()
    assert service.returncode == 0  # SIGTERM stopped both workers and the supervisor cleanly

    payments = bootstrap(PaymentsSettings(database_url=url))
    try:
        report = await audit.audit(payments.deps)
        assert report.breaches == [] and report.committed == len(reserved)
    finally:
        await payments.deps.db.dispose()
