"""``baylink payments``: operate the payment link — participants, caps, rates, settlement, audit, ISO 20022.

These commands work on the payments database directly (``BAYLINK_PAYMENTS_DATABASE_URL`` or
``--database-url``), through the same use cases as the gRPC API; events they cause go to the
outbox and are published by the running service's relay. ``audit`` exits 1 on any breach.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from baylink.errors import BaylinkError
from services.payments.bootstrap import Payments, bootstrap
from services.payments.config import PaymentsSettings
from services.payments.domain.money import Money, parse_decimal
from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind, Position
from services.payments.domain.pricing import Rate
from services.payments.domain.settlement import SettlementReport, WindowState
from services.payments.service_layer import audit as audit_uc
from services.payments.service_layer import export, participants, quotes, settlement

app = typer.Typer(name="payments", help="Operate the payment link.", no_args_is_help=True, add_completion=False)
console = Console()
T = TypeVar("T")
DbOption = Annotated[str, typer.Option("--database-url", help="Overrides BAYLINK_PAYMENTS_DATABASE_URL.")]


def _run(database_url: str, action: Callable[[Payments], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = PaymentsSettings(**({"database_url": database_url} if database_url else {}))
        payments = bootstrap(settings)
        try:
            await payments.migrate()
            return await action(payments)
        finally:
            await payments.deps.db.dispose()

    try:
        return asyncio.run(main())
    except BaylinkError as exc:
        console.print(f"[red]{exc.reason}[/red]: {exc.message}")
        raise typer.Exit(2) from None


@app.command("participant-add")
def participant_add(
    participant_id: str,
    name: Annotated[str, typer.Option(help="English name.")],
    jurisdiction: Annotated[Jurisdiction, typer.Option()],
    currency: Annotated[list[str], typer.Option(help="ISO 4217; repeat for several.")],
    kind: Annotated[ParticipantKind, typer.Option()] = ParticipantKind.PSP,
    bic: Annotated[str, typer.Option()] = "",
    name_zh_hant: Annotated[str, typer.Option()] = "",
    name_zh_hans: Annotated[str, typer.Option()] = "",
    database_url: DbOption = "",
) -> None:
    """Connect a participant; a position with a zero net debit cap is opened per currency."""
    p = Participant(
        participant_id, name, name_zh_hant, name_zh_hans, "", jurisdiction, kind, bic,
        tuple(currency), True, datetime.now(UTC),
    )  # fmt: skip
    created = _run(database_url, lambda s: participants.create_participant(s.deps, participants.CreateParticipant(p)))
    console.print(f"participant {created.participant_id}: {', '.join(created.currencies)}")


@app.command("participants")
def participants_list(database_url: DbOption = "") -> None:
    """List participants."""
    found = _run(database_url, lambda s: participants.list_participants(s.deps))
    table = Table("participant", "jurisdiction", "kind", "currencies", "active", "name")
    for p in found:
        table.add_row(
            p.participant_id, p.jurisdiction.value, p.kind.value, ",".join(p.currencies), str(p.active), p.name_en
        )
    console.print(table)


@app.command("cap")
def cap(participant_id: str, amount: str, currency: str, database_url: DbOption = "") -> None:
    """Set a participant's net debit cap in one currency (decimal amount, e.g. 1000000.00)."""

    async def action(s: Payments) -> Position:
        value = Money(currency, 0) if _is_zero(amount) else parse_decimal(currency, amount, "cap")
        return await participants.set_net_debit_cap(s.deps, participant_id, value)

    position = _run(database_url, action)
    console.print(f"{participant_id} {currency}: cap {position.net_debit_cap}, available {position.available}")


@app.command("positions")
def positions(participant_id: str, database_url: DbOption = "") -> None:
    """A participant's positions: committed net debit, reserved, cap and what is available."""
    found = _run(database_url, lambda s: participants.positions(s.deps, participant_id))
    table = Table("currency", "position", "reserved", "net debit cap", "available")
    for p in found:
        table.add_row(p.currency, str(p.position), str(p.reserved), str(p.net_debit_cap), str(p.available))
    console.print(table)


@app.command("rate-set")
def rate_set(
    source: str,
    target: str,
    mid: str,
    spread_bps: Annotated[int, typer.Option()] = 0,
    fee_fixed: Annotated[str, typer.Option(help="Fixed fee in the source currency, decimal.")] = "0",
    fee_bps: Annotated[int, typer.Option()] = 0,
    valid_until: Annotated[str, typer.Option(help="ISO 8601 with offset; empty: open-ended.")] = "",
    database_url: DbOption = "",
) -> None:
    """Set the rate for a currency pair from now on."""
    try:
        rate_value = Decimal(mid)
    except InvalidOperation:
        raise typer.BadParameter("mid must be a decimal") from None
    until = datetime.fromisoformat(valid_until) if valid_until else None

    async def action(s: Payments) -> Rate:
        fee = 0 if _is_zero(fee_fixed) else parse_decimal(source, fee_fixed, "fee_fixed").minor
        return await quotes.set_rate(
            s.deps, Rate(source, target, rate_value, datetime.now(UTC), until, spread_bps, fee, fee_bps)
        )

    rate = _run(database_url, action)
    console.print(f"{rate.pair}: mid {rate.mid}, customer {rate.customer_rate}")


@app.command("windows")
def windows(database_url: DbOption = "") -> None:
    """Settlement windows, newest first."""
    found = _run(database_url, lambda s: settlement.list_windows(s.deps))
    table = Table("window", "state", "opened", "closed", "settled")
    for w in found:
        table.add_row(w.settlement_window_id, w.state.value, str(w.opened_at), str(w.closed_at), str(w.settled_at))
    console.print(table)


@app.command("settle")
def settle(
    window: Annotated[str, typer.Option(help="A window to settle; default: close the open one and settle it.")] = "",
    close_only: Annotated[bool, typer.Option(help="Close the open window, do not settle it.")] = False,
    database_url: DbOption = "",
) -> None:
    """Close the open settlement window (the next one opens) and settle its net positions."""

    async def action(s: Payments) -> SettlementReport:
        target = window
        if not target:
            opened = await settlement.list_windows(s.deps, [WindowState.OPEN], 1)
            if not opened:
                raise typer.BadParameter("no open settlement window")
            target = opened[0].settlement_window_id
        current = await settlement.report(s.deps, target)
        if current.window.state is WindowState.OPEN:
            current = await settlement.close_window(s.deps, target, "closed by `baylink payments settle`")
        if close_only:
            return current
        return await settlement.settle_window(s.deps, target)

    _print_report(_run(database_url, action))


@app.command("audit")
def audit(database_url: DbOption = "") -> None:
    """Check the ledger's invariants; exit 1 on any breach."""
    report = _run(database_url, lambda s: audit_uc.audit(s.deps))
    console.print(
        f"accounts {report.accounts} · postings {report.postings} · transfers {report.transfers} "
        f"(committed {report.committed})"
    )
    for breach in report.breaches:
        console.print(f"[red]BREACH[/red] {breach}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]ledger invariants hold[/green]")


@app.command("export")
def export_iso(
    transfer_id: str,
    message: Annotated[str, typer.Option(help="pacs.008 or pacs.002")] = "pacs.008",
    out: Annotated[Path | None, typer.Option(help="File to write; default stdout.")] = None,
    database_url: DbOption = "",
) -> None:
    """Render a transfer as ISO 20022 (pacs.008 is validated against the official XSD)."""
    rendered = _run(database_url, lambda s: export.export_iso20022(s.deps, transfer_id, message))
    if out is None:
        sys.stdout.write(rendered.document.decode())
    else:
        out.write_bytes(rendered.document)
        console.print(f"{rendered.message_definition} {rendered.message_id} → {out}")


def _print_report(report: SettlementReport) -> None:
    w = report.window
    console.print(f"window {w.settlement_window_id}: {w.state.value}, {report.transfer_count} transfers")
    table = Table("participant", "net (+ pays in, − receives)", "transfers")
    for p in report.positions:
        table.add_row(p.participant_id, str(p.net), str(p.transfer_count))
    console.print(table)


def _is_zero(amount: str) -> bool:
    try:
        return Decimal(amount) == 0
    except InvalidOperation:
        return False
