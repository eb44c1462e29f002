"""The orchestrator's health probe (``baylink.runtime.grpc.probe``) against a real mutual-TLS server.

The server is the shared runtime's (health registered by ``start_grpc_server``) on a free loopback
port, with credentials from an internal CA made in a temporary directory; the probe holds the same
identity's certificate, as it does inside the service's pod.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from baylink.runtime.grpc.probe import FAILED, MISCONFIGURED, PASSED, check
from baylink.runtime.grpc.server import GrpcServer, start_grpc_server
from baylink.runtime.pki.internal_ca import init_internal_ca
from tests.support.internal_pki import transport_of
from tests.support.probe_service import SERVICE, register

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[GrpcServer]:
    transport = transport_of(tmp_path / "pki", "payments")
    srv = await start_grpc_server(register, [SERVICE], credentials=transport.server_credentials())
    yield srv
    await srv.stop(0)


async def probe(port: int, pki: Path, identity: str = "payments", **kwargs: Any) -> tuple[bool, str]:
    result = await asyncio.to_thread(check, port, transport_of(pki, identity), "payments", **kwargs)
    return result.passed, result.detail


async def test_a_serving_server_passes_readiness_and_liveness(server: GrpcServer, tmp_path: Path) -> None:
    assert await probe(server.port, tmp_path / "pki") == (True, f"127.0.0.1:{server.port}: SERVING")
    assert (await probe(server.port, tmp_path / "pki", live=True))[0]
    assert (await probe(server.port, tmp_path / "pki", service=SERVICE))[0]


async def test_a_draining_server_fails_readiness_but_stays_alive(server: GrpcServer, tmp_path: Path) -> None:
    await server.set_serving(False)
    passed, detail = await probe(server.port, tmp_path / "pki")
    assert not passed
    assert detail.endswith("NOT_SERVING")
    assert (await probe(server.port, tmp_path / "pki", live=True))[0]


async def test_an_unknown_service_name_fails(server: GrpcServer, tmp_path: Path) -> None:
    passed, detail = await probe(server.port, tmp_path / "pki", service="baylink.nothing.v1.Nope", live=True)
    assert not passed
    assert "NOT_FOUND" in detail


async def test_nothing_listening_fails_within_the_timeout(server: GrpcServer, tmp_path: Path) -> None:
    port = server.port
    await server.stop(0)
    started = asyncio.get_running_loop().time()
    passed, detail = await probe(port, tmp_path / "pki", timeout=1.0)
    assert not passed
    assert "UNAVAILABLE" in detail or "DEADLINE_EXCEEDED" in detail
    assert asyncio.get_running_loop().time() - started < 5


async def test_a_certificate_of_another_ca_gets_no_answer(server: GrpcServer, tmp_path: Path) -> None:
    passed, _ = await probe(server.port, tmp_path / "other-pki", timeout=2.0)
    assert not passed


async def test_the_server_certificate_must_name_the_probed_service(server: GrpcServer, tmp_path: Path) -> None:
    """The probe checks the answering server's certificate for the identity it was told."""
    transport = transport_of(tmp_path / "pki", "payments")
    result = await asyncio.to_thread(check, server.port, transport, "registry", timeout=2.0)
    assert not result.passed


def run_probe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baylink.runtime.grpc.probe", *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_module_reads_the_pods_own_credentials_from_the_environment(
    server: GrpcServer, tmp_path: Path
) -> None:
    pki = tmp_path / "pki"
    env = {
        "BAYLINK_INSECURE_INTERNAL": "0",
        "BAYLINK_INTERNAL_CA_FILE": str(pki / "ca.crt"),
        "BAYLINK_INTERNAL_CERT_FILE": str(pki / "payments.crt"),
        "BAYLINK_INTERNAL_KEY_FILE": str(pki / "payments.key"),
    }
    ready = await asyncio.to_thread(run_probe, env, "--identity", "payments", "--port", str(server.port))
    assert ready.returncode == PASSED, ready.stderr
    assert "SERVING" in ready.stdout
    await server.set_serving(False)
    draining = await asyncio.to_thread(run_probe, env, "--identity", "payments", "--port", str(server.port))
    assert draining.returncode == FAILED
    assert "NOT_SERVING" in draining.stderr


def test_missing_credentials_are_a_misconfiguration_not_a_failure(tmp_path: Path) -> None:
    init_internal_ca(tmp_path / "pki")
    env = {"BAYLINK_INSECURE_INTERNAL": "0", "BAYLINK_INTERNAL_PKI_DIR": str(tmp_path / "pki")}
    result = run_probe(env, "--identity", "no-such-service", "--port", "1")
    assert result.returncode == MISCONFIGURED
    assert "no-such-service.crt" in result.stderr
