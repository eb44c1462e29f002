"""The system as deployed, each service an OS process of its own (``tests/e2e/processes.py``, what
``benchmarks/flow_bench.py --shape processes`` runs): a registration goes from the kiosk to an approved
USCC across them (internal gRPC over mutual TLS, the fee's event through the real broker), and on the
way out every process has ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from baylink.runtime.settings import KafkaSettings
from benchmarks.flow_bench import NANHAI, Target, flows_at_once, issue_devices
from benchmarks.flow_steps import StepTimer
from devtools.testpki.loader import TestPKI
from services.gateway.partner.adapters.pki import issue_city
from tests.e2e.processes import running_processes
from tests.e2e.stack import build_pki

pytestmark = pytest.mark.kafka


async def test_a_registration_goes_through_the_services_in_their_own_processes(
    tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    pki = build_pki(tmp_path / "testpki")
    async with running_processes(tmp_path, kafka_settings, pki) as running:
        children = list(running.children.values())
        assert sorted(running.pids()) == ["flows", "gateway", "identity", "payments", "registry", "responder", "tsa"]
        assert len(set(running.pids().values())) == 7
        target = Target(pki.directory, running.gateway_pki_dir, running.kiosk_url, running.ports.partner)
        issue_city(target.door_pki, NANHAI)
        issue_devices(target, [0])
        steps = StepTimer()
        _, latencies = await flows_at_once(target, TestPKI(pki.directory), [0], 1, steps)  # asserts the USCC
        assert len(latencies) == 1
        assert "POST /v1/applications/{id}/pay" in steps.samples
        assert all(child.process is not None and child.process.poll() is None for child in children)
    assert all(child.process is not None and child.process.returncode is not None for child in children)
