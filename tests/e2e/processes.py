"""The whole system as deployed: identity, registry, payments, the gateway and the flow worker each in
an OS process of its own (``python -m services.<name>``, as deploy/services.sh and deploy/cluster.sh
start them), the test PKI's responder and Baylink's TSA too; internal gRPC over mutual TLS with an
internal CA of the run's own; SQLite databases, run directories and logs in a temporary directory;
the real broker, on topics of the run's own. Every port is a free ephemeral one (``free_port``).

The settings are those of the in-process stack (``tests.e2e.stack``: ``identity_values`` …), given to
each process as its ``BAYLINK_*`` environment (``settings_env``). A process is ready once it
announces its addresses in its run directory (the services, as for `make up`) or its port answers
(responder, TSA); the flow worker announces nothing and counts as started when alive after 2 s, as
deploy/cluster.sh has it. Each child gets SIGKILL if this process dies (PR_SET_PDEATHSIG) and runs in
a process group of its own, which is sent SIGTERM, then SIGKILL, on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, SecretStr

from baylink.runtime.grpc.tls import OPERATOR
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from devtools.testpki.loader import TestPKI
from tests.e2e.stack import (
    Topics,
    common_values,
    gateway_values,
    identity_values,
    registry_values,
    seed_payments,
    topics_of_our_own,
)
from tests.integration.gateway.flows_support import FlowTopics, delete_internal_topics
from tests.support.child import command as child_command
from tests.support.internal_pki import transport_of
from tests.support.ports import free_port

START_SECONDS, STOP_SECONDS = 90.0, 30.0
SERVICES = ("identity", "registry", "payments", "gateway")
TOPIC_PARTITIONS = 3  # as topics_of_our_own makes them


def _encoded(value: object) -> str:
    """A setting's value as pydantic-settings reads it from the environment (JSON for structures)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=lambda v: v.model_dump(mode="json") if isinstance(v, BaseModel) else str(v))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_env(prefix: str, values: Mapping[str, object]) -> dict[str, str]:
    """``values`` (a settings class's fields) as ``<prefix><FIELD>`` variables; a ``kafka`` value as
    the ``BAYLINK_KAFKA_*`` variables every process reads; None left out (the field's default)."""
    env: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, KafkaSettings):
            env.update(settings_env("BAYLINK_KAFKA_", value.model_dump()))
        elif value is not None:
            env[f"{prefix}{name.upper()}"] = _encoded(value)
    return env


def base_env() -> dict[str, str]:
    """This process's environment without any BAYLINK_ setting (a stray one would reach every child),
    with this checkout's code first on the path."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BAYLINK_")}
    return {**inherited, "PYTHONPATH": str(REPO_ROOT)}


@dataclass
class Child:
    """One process: ``python <argv>`` (``-m MODULE …`` or ``-c CODE …``) with ``env`` added to
    ``base_env()``, its output in ``log``; it dies with this process (``tests.support.child``)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool]  # checked every 0.1 s while it starts
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Spawned from the event loop's thread: PR_SET_PDEATHSIG follows the thread that forked."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                child_command(os.getpid(), self.argv), cwd=REPO_ROOT, env={**base_env(), **self.env}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    async def started(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        while not self.ready():
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.tail()}")
            if loop.time() > deadline:
                raise RuntimeError(f"{self.name} not ready after {START_SECONDS:g} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGTERM to its process group; SIGKILL if still there after STOP_SECONDS."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            for _ in range(int(wait * 10)):
                if self.process.poll() is not None:
                    return
                await asyncio.sleep(0.1)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def announced(path: Path, key: str = "grpc") -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return key in json.loads(path.read_text())
        except (OSError, ValueError):
            return False

    return ready


def answering(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            return probe.connect_ex(("127.0.0.1", port)) == 0

    return ready


def alive_after(seconds: float) -> Callable[[], bool]:
    since = time.monotonic()
    return lambda: time.monotonic() - since >= seconds


@dataclass
class Ports:
    responder: int
    tsa: int = field(default_factory=free_port)
    grpc: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    kiosk: int = field(default_factory=free_port)
    partner: int = field(default_factory=free_port)
    console: int = field(default_factory=free_port)


def service_children(
    tmp: Path, kafka: KafkaSettings, pki: TestPKI, topics: Topics, ports: Ports, *,
    payments_options: Mapping[str, object], gateway_options: Mapping[str, object],
) -> list[Child]:  # fmt: skip
    """The processes of the system but the flow worker, in the order they start."""
    logs, run = tmp / "logs", tmp / "run"

    def service(name: str, values: Mapping[str, object], ready_key: str = "grpc") -> Child:
        own = {**values, "grpc_port": ports.grpc[name], "run_dir": run / name, "log_level": "WARNING"}
        env = {**settings_env(f"BAYLINK_{name.upper()}_", own), **internal_env(tmp)}
        return Child(name, ["-m", f"services.{name}"], env, logs / f"{name}.log",
                     announced(run / name / f"{name}.json", ready_key))  # fmt: skip

    tsa_dir = pki.directory / "certs"
    tsa_env = {
        "BAYLINK_TSA_PORT": str(ports.tsa),
        "BAYLINK_TSA_CERT_FILE": str(tsa_dir / "hk-tsa.pem"),
        "BAYLINK_TSA_KEY_FILE": str(pki.directory / "keys" / "hk-tsa.key.pem"),
        "BAYLINK_TSA_CHAIN_FILE": str(tsa_dir / "hk-ca.pem"),
        "BAYLINK_TSA_SERIAL_FILE": str(tmp / "tsa" / "serial"),
    }
    tsa_url = f"http://127.0.0.1:{ports.tsa}"
    targets = {f"{s}_target": f"127.0.0.1:{ports.grpc[s]}" for s in ("identity", "registry", "payments")}
    door = {"kiosk_port": ports.kiosk, "partner_port": ports.partner, "console_port": ports.console}
    children = [
        Child("responder", ["-m", "devtools.testpki", "serve", str(pki.directory), "--port", str(ports.responder)],
              {}, logs / "responder.log", answering(ports.responder)),
        Child("tsa", ["-m", "services.identity.tsa"], tsa_env, logs / "tsa.log", answering(ports.tsa)),
        service("identity", identity_values(tmp, pki, kafka)),
        service("registry", registry_values(tmp, kafka, ports.grpc["identity"], topics, tsa_url)),
        service("payments", {**common_values(tmp, "payments", kafka), **payments_options,
                             "events_topic": topics.payments}),
        service("gateway", {**gateway_values(tmp, kafka, targets, topics, **gateway_options), **door}, "kiosk"),
    ]  # fmt: skip
    return children


def flow_worker_child(tmp: Path, kafka: KafkaSettings, topics: Topics, ports: Ports) -> Child:
    """The flow worker (its own consumer group and changelog topics under ``flow_app_id``)."""
    values = {
        "app_id": flow_app_id(topics),
        "registry_topic": topics.registry,
        "payments_topic": topics.payments,
        "sink_topic": topics.gateway,
        "partitions": TOPIC_PARTITIONS,
        "payments_target": f"127.0.0.1:{ports.grpc['payments']}",
        "datadir": tmp / "flows",
        "kafka": kafka,
    }
    env = {**settings_env("BAYLINK_FLOWS_", values), **internal_env(tmp)}
    return Child("flows", ["-m", "services.gateway.flows"], env, tmp / "logs" / "flows.log", alive_after(2.0))


def internal_env(tmp: Path) -> dict[str, str]:
    """The run's internal CA: each process finds its certificate there by its identity."""
    return {"BAYLINK_INTERNAL_PKI_DIR": str(tmp / "internal-pki")}


def flow_app_id(topics: Topics) -> str:
    return f"flows-{topics.gateway}"


@dataclass
class ProcessStack:
    pki: TestPKI
    topics: Topics
    children: dict[str, Child]
    ports: Ports
    gateway_pki_dir: Path  # the partner and kiosk CAs the gateway made (device and city certificates)

    @property
    def kiosk_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.kiosk}"

    def pids(self) -> dict[str, int]:
        return {name: child.pid for name, child in self.children.items()}


@asynccontextmanager
async def running_processes(
    tmp: Path, kafka: KafkaSettings, pki: TestPKI, *, payments_options: Mapping[str, object] | None = None,
    flow_worker: bool = True, **gateway_options: object,
) -> AsyncIterator[ProcessStack]:  # fmt: skip
    """The system in separate processes, payments seeded as an operator would; everything stopped
    (and the run's topics deleted) on the way out, also on error."""
    operator = transport_of(tmp / "internal-pki", OPERATOR)  # the run's internal CA, a certificate per identity
    ports = Ports(responder=int(pki.base_url.rsplit(":", 1)[1]))
    async with AsyncExitStack() as stack:
        topics = await stack.enter_async_context(topics_of_our_own(kafka))
        children = service_children(tmp, kafka, pki, topics, ports, payments_options=payments_options or {},
                                    gateway_options=gateway_options)  # fmt: skip
        stack.push_async_callback(_stop_all, children)  # also those that did not get to start
        for child in children:
            child.start()
        await asyncio.gather(*(child.started() for child in children))
        await seed_payments(ports.grpc["payments"], operator)
        if flow_worker:  # after payments (its refunds) and once the topics are there
            worker = flow_worker_child(tmp, kafka, topics, ports)
            stack.push_async_callback(_delete_flow_topics, kafka, topics)
            stack.push_async_callback(worker.stop)
            worker.start()
            await worker.started()
        running = {c.name: c for c in children} | ({"flows": worker} if flow_worker else {})
        yield ProcessStack(pki, topics, running, ports, tmp / "partner-pki")


async def _stop_all(children: list[Child]) -> None:
    await asyncio.gather(*(child.stop() for child in reversed(children)))


async def _delete_flow_topics(kafka: KafkaSettings, topics: Topics) -> None:
    """The flow worker's own topics (regrouping, changelog), made by it under its app id."""
    app = FlowTopics(flow_app_id(topics), topics.registry, topics.payments, topics.gateway)
    await delete_internal_topics(kafka, app)
