"""The pieces that run the system as separate processes (tests/e2e/processes.py, benchmarks/flow_bench.py):
each process's environment reads back as the settings the in-process stack uses, a child runs in a
process group of its own and is stopped by it, and dies with the process that started it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from benchmarks.flow_bench import OPEN_LIMITS, parse
from benchmarks.gateway_bench import UNLIMITED
from devtools.testpki.loader import TestPKI
from services.gateway.config import GatewaySettings
from services.gateway.flows.config import FlowSettings
from services.identity.config import IdentitySettings
from services.payments.config import PaymentsSettings
from services.registry.config import RegistrySettings
from tests.e2e.processes import Child, Ports, alive_after, flow_worker_child, service_children, settings_env
from tests.e2e.stack import Topics, common_values, identity_values
from tests.support.child import command as child_command

KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:19999", replication_factor=1)
SETTINGS: dict[str, Any] = {
    "identity": IdentitySettings,
    "registry": RegistrySettings,
    "payments": PaymentsSettings,
    "gateway": GatewaySettings,
}


def pki_dir(tmp_path: Path) -> TestPKI:
    """A test PKI directory as far as the settings see it (its manifest names the responder)."""
    (tmp_path / "testpki").mkdir()
    (tmp_path / "testpki" / "manifest.json").write_text(json.dumps({"base_url": "http://127.0.0.1:1"}))
    return TestPKI(tmp_path / "testpki")


def read_as(cls: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in [k for k in os.environ if k.startswith("BAYLINK_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls()


def test_each_service_reads_its_environment_as_the_stack_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = pki_dir(tmp_path)
    topics, ports = Topics("reg.t", "pay.t", "gw.t"), Ports(responder=1)
    children = service_children(tmp_path, KAFKA, pki, topics, ports, payments_options=OPEN_LIMITS,
                                gateway_options={"kiosk_guard": UNLIMITED})  # fmt: skip
    assert [c.name for c in children] == ["responder", "tsa", "identity", "registry", "payments", "gateway"]
    read = {c.name: read_as(SETTINGS[c.name], c.env, monkeypatch) for c in children if c.name in SETTINGS}

    for name, settings in read.items():
        assert settings.grpc_port == ports.grpc[name]
        assert settings.kafka.bootstrap_servers == "127.0.0.1:19999"
        assert settings.internal.pki_dir == tmp_path / "internal-pki"
        assert settings.database_url == common_values(tmp_path, name, KAFKA)["database_url"]
    expected_identity = IdentitySettings(**identity_values(tmp_path, pki, KAFKA))  # type: ignore[arg-type]
    assert read["identity"].trusted_list_signers == expected_identity.trusted_list_signers
    assert read["identity"].revocation_allowed_hosts == ["127.0.0.1"]
    assert read["registry"].identity_target == f"127.0.0.1:{ports.grpc['identity']}"
    assert read["registry"].tsa_url == f"http://127.0.0.1:{ports.tsa}"
    assert (read["registry"].events_topic, read["registry"].payments_topic) == ("reg.t", "pay.t")
    assert read["payments"].events_topic == "pay.t"
    assert read["payments"].corridor_limits["HKD>CNY"].max_per_day == 100000
    gateway = read["gateway"]
    assert gateway.kiosk_guard == UNLIMITED
    assert (gateway.kiosk_port, gateway.partner_port) == (ports.kiosk, ports.partner)
    assert gateway.payments_target == f"127.0.0.1:{ports.grpc['payments']}"
    assert gateway.console_topics == ["reg.t", "pay.t", "gw.t", KAFKA.dlq_topic]


def test_the_flow_worker_reads_the_run_topics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ports = Ports(responder=1)
    worker = flow_worker_child(tmp_path, KAFKA, Topics("reg.t", "pay.t", "gw.t"), ports)
    flows = read_as(FlowSettings, worker.env, monkeypatch)
    assert (flows.registry_topic, flows.payments_topic, flows.sink_topic) == ("reg.t", "pay.t", "gw.t")
    assert flows.payments_target == f"127.0.0.1:{ports.grpc['payments']}"
    assert flows.app_id.endswith("gw.t") and flows.partitions == 3


def test_settings_env_leaves_out_unset_values_and_writes_structures_as_json() -> None:
    env = settings_env("BAYLINK_X_", {"a": None, "b": [Path("/p")], "c": True, "d": 2.5})
    assert env == {"BAYLINK_X_B": '["/p"]', "BAYLINK_X_C": "true", "BAYLINK_X_D": "2.5"}


def test_the_benchmark_options() -> None:
    args = parse([])
    assert (args.shape, args.kiosk_counts, args.flows_per_kiosk, args.client_processes) == ("processes", [4, 16], 10, 0)
    assert parse(["--kiosks", "4, 16,", "--client-processes", "2"]).kiosk_counts == [4, 16]
    for wrong in (["--shape", "inprocess", "--client-processes", "2"], ["--kiosks", "0"], ["--client-processes", "99"]):
        with pytest.raises(SystemExit):
            parse(wrong)


async def test_a_child_runs_in_its_own_group_and_stops(tmp_path: Path) -> None:
    child = Child("sleeper", ["-c", "import time; time.sleep(120)"], {}, tmp_path / "sleeper.log", alive_after(0.2))
    child.start()
    try:
        await child.started()
        assert os.getpgid(child.pid) == child.pid
    finally:
        await child.stop()
    assert child.process is not None and child.process.returncode is not None


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie: dead
    except OSError:
        return True


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    starter = (
        "import os, sys; from pathlib import Path; from tests.e2e.processes import Child, alive_after\n"
        "c = Child('sleeper', ['-c', 'import time; time.sleep(120)'], {}, Path(sys.argv[1]), alive_after(0))\n"
        "c.start(); print(c.pid, flush=True); os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", starter, str(tmp_path / "sleeper.log")], cwd=REPO_ROOT,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    pid = int(done.stdout.split()[0])
    for _ in range(100):  # at most 10 s
        if gone(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail(f"child {pid} outlived the process that started it")


def test_a_child_runs_its_module_or_code_as_python_would(tmp_path: Path) -> None:
    show = "import sys; print(__name__, sys.argv)"
    (tmp_path / "shown.py").write_text(show)
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{tmp_path}"}
    for target, argv0 in ((["-c", show, "a", "b c"], "-c"), (["-m", "shown", "a", "b c"], str(tmp_path / "shown.py"))):
        done = subprocess.run(child_command(os.getpid(), target), env=env, capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (0, f"__main__ {[argv0, 'a', 'b c']}\n"), done.stderr
    with pytest.raises(ValueError, match="-m MODULE"):
        child_command(os.getpid(), ["shown.py"])


def test_a_child_whose_parent_is_not_the_one_named_exits_at_once() -> None:
    done = subprocess.run(child_command(os.getpid() + 1_000_000, ["-c", "print('ran')"]), cwd=REPO_ROOT,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")


async def test_children_start_while_grpc_calls_are_in_flight(tmp_path: Path) -> None:
    """grpcio's fork handlers crashed a share of children forked with a preexec_fn while this process had
    gRPC calls in flight (grpc/grpc#43055; docs/testing.md): an e2e stack's service then "exited at
    start-up". A child asks for its death signal itself, so none may fail here."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    calls = 0

    async def calling(until: asyncio.Event) -> None:
        nonlocal calls
        while not until.is_set():
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
            calls += 1

    done = asyncio.Event()
    callers = [asyncio.create_task(calling(done)) for _ in range(4)]
    failed: list[tuple[int, str]] = []
    try:
        for n in range(40):
            child = Child(f"c{n}", ["-c", "pass"], {}, tmp_path / f"c{n}.log", alive_after(0))
            child.start()
            assert child.process is not None
            for _ in range(600):  # at most 30 s
                if child.process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            if child.process.returncode != 0:
                failed.append((child.process.returncode, child.tail()))
    finally:
        done.set()
        await asyncio.gather(*callers)
        await channel.close()
        await server.stop(None)
    assert calls > 40, "the gRPC calls were in flight while the children started"
    assert failed == []
