"""What the console's tests share: a users file, a gateway serving only its console (the services behind
it are not needed for topics and dead letters), and the audit rows an action left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.adapters.store import audit_records
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.console.domain.passwords import hash_password
from tests.conftest import TopicFactory
from tests.e2e.stack import Topics, gateway_settings
from tests.support.ports import free_port

# name → (role, password)
USERS: dict[str, tuple[str, str]] = {"olivia": ("operator", "operator-pass-1"), "victor": ("viewer", "viewer-pass-1")}
PASSWORDS = {name: password for name, (_, password) in USERS.items()}


def write_users(path: Path, users: Mapping[str, tuple[str, str]] = USERS) -> Path:
    """A console users file with scrypt hashes of the given passwords."""
    entries = (
        f'[[user]]\nname = "{name}"\nrole = "{role}"\npassword_hash = "{hash_password(password)}"\n'
        for name, (role, password) in users.items()
    )
    path.write_text("".join(entries))
    return path


@dataclass
class ConsoleGateway:
    gateway: Gateway
    kafka: KafkaSettings  # with the test's own dead-letter topic
    events: str
    dlq: str
    url: str


@asynccontextmanager
async def console_gateway(
    tmp: Path, kafka: KafkaSettings, new_topic: TopicFactory, **more: object
) -> AsyncIterator[ConsoleGateway]:
    """A gateway whose console tails topics of the test's own (events, gateway, dead letters). Its cookies
    lose ``Secure`` (the tests speak plain HTTP) unless ``console_insecure_cookies=False`` is given."""
    more.setdefault("console_insecure_cookies", True)
    events, gateway_topic, dlq = await new_topic("events"), await new_topic("gateway"), await new_topic("dlq")
    kafka = kafka.model_copy(update={"dlq_topic": dlq})
    dead = f"127.0.0.1:{free_port()}"  # nothing behind the gateway is called
    settings = gateway_settings(
        tmp, kafka, {"identity_target": dead, "registry_target": dead, "payments_target": dead},
        Topics(events, events, gateway_topic), console_port=0, console_users_file=write_users(tmp / "users.toml"),
        console_topics=[events, gateway_topic, dlq], **more,
    )  # fmt: skip
    gateway = bootstrap(settings)
    await gateway.start()
    try:
        assert gateway.console is not None
        await asyncio.wait_for(gateway.console.hub.ready.wait(), 30)
        yield ConsoleGateway(gateway, kafka, events, dlq, f"http://127.0.0.1:{gateway.console.port}")
    finally:
        await gateway.stop()


async def audited(gateway: Gateway, action: str) -> list[tuple[str, str, str]]:
    """(actor, result, details) of every audit record of ``action``."""
    query = sa.select(audit_records.c.actor, audit_records.c.result, audit_records.c.details)
    async with gateway.host.db.transaction() as session:
        rows = await session.execute(query.where(audit_records.c.action == action))
    return [(r[0], r[1], r[2]) for r in rows]
