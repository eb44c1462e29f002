"""`baylink payments audit`: the one offline command. It reads the ledger straight from the database,
so it needs no running service; run it against a copy or a stopped service for a consistent answer."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from baylink.errors import BaylinkError
from services.payments.bootstrap import bootstrap
from services.payments.config import PaymentsSettings
from services.payments.entrypoints.cli_client import exit_code, fail
from services.payments.entrypoints.cli_render import console
from services.payments.service_layer import audit as audit_uc


async def _audit(database_url: str) -> audit_uc.AuditReport:
    settings = PaymentsSettings(database_url=database_url) if database_url else PaymentsSettings()
    payments = bootstrap(settings)
    try:
        await payments.migrate()
        return await audit_uc.audit(payments.deps)
    finally:
        await payments.deps.db.dispose()


def audit(
    database_url: Annotated[
        str, typer.Option("--database-url", help="Offline: this database; default BAYLINK_PAYMENTS_DATABASE_URL.")
    ] = "",
) -> None:
    """Offline: check the ledger's invariants in the database itself; exit 1 on any breach.

    Reads the database directly, not through the service: run it against a copy or a stopped service.
    """
    try:
        report = asyncio.run(_audit(database_url))
    except BaylinkError as exc:
        fail(f"{exc.reason}: {exc.message}", exit_code(exc))
    console.print(
        f"accounts {report.accounts} · postings {report.postings} · transfers {report.transfers} "
        f"(committed {report.committed})"
    )
    for breach in report.breaches:
        console.print(f"[red]BREACH[/red] {breach}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]ledger invariants hold[/green]")
