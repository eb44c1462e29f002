"""``baylink topics``: list the topics on the broker, or apply the declaration."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from baylink.runtime.acls import Acl, apply_acls, declared_principals, describe_acls
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicState, apply_topics, declared, describe_topics

app = typer.Typer(help="Kafka topics and their ACLs: list them (default) or apply deploy/kafka/topics.toml.")
# Wide enough for topic names when the output is piped (rich would assume 80 columns).
console = Console(width=shutil.get_terminal_size((140, 24)).columns)
T = TypeVar("T")


@app.callback(invoke_without_command=True)
def topics(ctx: typer.Context) -> None:
    """List the topics on the broker with partitions, replication and managed configs, and the ACLs."""
    if ctx.invoked_subcommand is not None:
        return
    settings = KafkaSettings()

    async def describe(admin: AIOKafkaAdminClient) -> tuple[list[TopicState], list[Acl] | None]:
        return await describe_topics(admin), await describe_acls(admin)

    states, acls = _run(settings, describe)
    declared_names = {s.name for s in declared(settings)}
    table = Table(title=f"Kafka topics at {settings.bootstrap_servers}")
    table.add_column("topic", no_wrap=True)
    for column in ("partitions", "replicas", "retention", "cleanup", "min ISR", "declared"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    for s in states:
        table.add_row(
            s.name,
            str(s.partitions),
            str(s.replication_factor),
            _days(s.configs["retention.ms"]),
            s.configs["cleanup.policy"],
            s.configs["min.insync.replicas"],
            "yes" if s.name in declared_names else "no",
        )
    console.print(table)
    _print_acls(acls)
    missing = declared_names - {s.name for s in states}
    if missing:
        console.print(f"[yellow]declared but absent: {', '.join(sorted(missing))} (run `baylink topics apply`)")
        raise typer.Exit(1)


def _print_acls(acls: list[Acl] | None) -> None:
    if acls is None:
        console.print("ACLs: none (the broker has no authorizer; every client may do anything)")
        return
    table = Table(title="ACLs (allow, any host)")
    for column in ("principal", "resource", "pattern", "operations"):
        table.add_column(column, no_wrap=True)
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for acl in acls:
        key = (acl.principal, f"{acl.resource_type} {acl.resource}", acl.pattern)
        grouped.setdefault(key, []).append(acl.operation)
    for (principal, resource, pattern), operations in sorted(grouped.items()):
        table.add_row(principal, resource, pattern, ",".join(sorted(operations)))
    console.print(table)


def _days(retention_ms: str) -> str:
    if not retention_ms.lstrip("-").isdigit() or int(retention_ms) < 0:
        return retention_ms or "?"
    return f"{int(retention_ms) / 86_400_000:g} d"


@app.command("apply")
def apply() -> None:
    """Create or update the declared topics, then their principals' ACLs if the broker has an authorizer
    (idempotent)."""
    settings = KafkaSettings()
    specs = declared(settings)
    principals = declared_principals(settings)  # checked before anything is changed

    async def apply_all(admin: AIOKafkaAdminClient) -> tuple[list[str], list[str] | None]:
        return await apply_topics(admin, specs, settings.replication_factor), await apply_acls(admin, principals)

    changes, acl_changes = _run(settings, apply_all)
    for change in [*changes, *(acl_changes or [])]:
        console.print(f"• {change}")
    console.print(f"{len(specs)} topics declared, {len(changes)} changes")
    if acl_changes is None:
        console.print(f"ACLs of {len(principals)} principals not applied: the broker has no authorizer (dev broker)")
    else:
        console.print(f"{len(principals)} principals declared, {len(acl_changes)} ACL changes")


def _run(settings: KafkaSettings, action: Callable[[AIOKafkaAdminClient], Awaitable[T]]) -> T:
    async def main() -> T:
        admin = new_admin(settings)
        try:
            await admin.start()
            return await action(admin)
        finally:
            await close_quietly(admin)

    try:
        return asyncio.run(main())
    except KafkaError as exc:
        console.print(f"[red]Kafka at {settings.bootstrap_servers} did not answer: {exc!r}")
        raise typer.Exit(2) from exc
