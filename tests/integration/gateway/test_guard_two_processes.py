"""``python -m services.gateway`` twice on one database (SQLite file, PostgreSQL): a partner city reading
people alternately through the two processes is refused at the (N+1)th, whichever process it reaches.

The real entry point, as `deploy/cluster.sh` starts its replicas: two processes, their own ports, one
database, the same keys and partner PKI. Nothing behind the gateway is called: a subject is counted
before the backend is asked, and an unknown one is NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import grpc
import pytest

from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from services.gateway.partner.adapters.pki import PkiPaths, init_pki, issue_city
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.conftest import TopicFactory
from tests.integration.payments.conftest import database_url
from tests.support.ports import free_port

pytestmark = pytest.mark.kafka
LIMIT = 4
CITY = "440605"


@asynccontextmanager
async def gateway_process(env: dict[str, str]) -> AsyncIterator[int]:
    """One gateway process; its partner port once it serves. SIGTERM and wait on the way out."""
    partner_port = free_port()
    own = {f"BAYLINK_GATEWAY_{k}": str(free_port()) for k in ("GRPC_PORT", "KIOSK_PORT", "CONSOLE_PORT")}
    own["BAYLINK_GATEWAY_PARTNER_PORT"] = str(partner_port)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.gateway", cwd=REPO_ROOT, env={**env, **own},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        async with asyncio.timeout(120):
            while b"gateway serving" not in (line := await process.stdout.readline()):
                assert line, "the gateway stopped before serving"
        drain = asyncio.create_task(process.stdout.read())  # keep reading its log
        yield partner_port
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
        if drain is not None:
            await drain


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_gateway_processes_hold_a_city_to_one_distinct_subject_limit(
    kind: str, tmp_path: Path, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    pki = init_pki(tmp_path / "partner-pki")
    issue_city(pki.root, CITY)
    topic = await new_topic("gateway-guard-processes")
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(database_url(kind, tmp_path))
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "BAYLINK_GATEWAY_DATABASE_URL": url,
            "BAYLINK_GATEWAY_RUN_DIR": str(tmp_path / "run"),
            "BAYLINK_GATEWAY_METRICS_PORT": "0",
            "BAYLINK_GATEWAY_DRAIN_DELAY_SECONDS": "0",
            "BAYLINK_GATEWAY_PKI_DIR": str(pki.root),
            "BAYLINK_GATEWAY_AUDIT_KEY_PATH": str(tmp_path / "keys" / "audit.pem"),
            "BAYLINK_GATEWAY_AUDIT_TRUSTED_KEYS_DIR": str(tmp_path / "trusted-keys"),
            "BAYLINK_GATEWAY_BINDING_KEY_DIR": str(tmp_path / "keys"),
            "BAYLINK_GATEWAY_EVENTS_TOPIC": topic,  # the guard's alerts go to the test's own topic
            "BAYLINK_GATEWAY_REGISTRY_EVENTS_TOPIC": topic,
            "BAYLINK_GATEWAY_CONSOLE_TOPICS": json.dumps([topic]),
            "BAYLINK_GATEWAY_PARTNER_GUARD__DISTINCT_SUBJECTS": str(LIMIT),
            "BAYLINK_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        }
        first = await stack.enter_async_context(gateway_process(env))  # migrates and makes the keys first
        second = await stack.enter_async_context(gateway_process(env))
        stubs = []
        for port in (first, second):
            channel = grpc.aio.secure_channel(f"127.0.0.1:{port}", city_channel_credentials(PkiPaths(pki.root), CITY))
            stack.push_async_callback(channel.close)
            stubs.append(api_grpc.PartnerCityServiceStub(channel))

        pseudonyms = [f"{i:02d}" + "ef" * 31 for i in range(LIMIT + 4)]
        codes = []
        for i, pseudonym in enumerate(pseudonyms):
            try:
                await stubs[i % 2].LookupSubject(api.LookupSubjectRequest(pseudonym=pseudonym), timeout=30)
                codes.append("OK")
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code().name)
        # Counted, then not found (nobody is bound): the first LIMIT through; then refused on either process.
        assert codes == ["NOT_FOUND"] * LIMIT + ["RESOURCE_EXHAUSTED"] * 4
