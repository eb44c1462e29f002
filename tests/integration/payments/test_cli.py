"""`baylink payments …` against a real database: audit's exit code, settle, export, admin commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from services.payments.adapters.iso20022 import PACS_008, validate
from services.payments.adapters.tables import accounts
from services.payments.entrypoints.cli import app as cli
from services.payments.service_layer import complete, prepare
from tests.unit.payments.conftest import Clock, hkd, make_app, quote, request_for

runner = CliRunner()


def with_transfers(url: str) -> None:
    async def build() -> None:
        app = await make_app(url, Clock())
        for i in range(3):
            q = await quote(app, f"q{i}", hkd("300.00"))
            await prepare.prepare_transfer(app.deps, request_for(q, f"t{i}"))
            await complete.commit_transfer(app.deps, f"t{i}")
        await app.deps.db.dispose()

    asyncio.run(build())


def test_audit_exits_zero_on_a_sound_ledger_and_one_on_a_breach(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    with_transfers(url)
    result = runner.invoke(cli, ["audit", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "ledger invariants hold" in result.output

    async def tamper() -> None:
        engine = sa.ext.asyncio.create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.update(accounts).where(accounts.c.account_id == "FEE:HKD").values(credits_posted=1))
        await engine.dispose()

    asyncio.run(tamper())
    result = runner.invoke(cli, ["audit", "--database-url", url])
    assert result.exit_code == 1
    assert "BREACH" in result.output and "FEE:HKD" in result.output


def test_settle_closes_the_open_window_and_settles_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    with_transfers(url)
    result = runner.invoke(cli, ["settle", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "SETTLED, 3 transfers" in result.output and "HKBANK" in result.output
    assert runner.invoke(cli, ["audit", "--database-url", url]).exit_code == 0
    positions = runner.invoke(cli, ["positions", "HKBANK", "--database-url", url])
    assert "0.00 HKD" in positions.output


def test_export_writes_a_pacs008_that_validates(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    with_transfers(url)
    out = tmp_path / "t0.xml"
    result = runner.invoke(cli, ["export", "t0", "--out", str(out), "--database-url", url])
    assert result.exit_code == 0, result.output
    validate(out.read_bytes(), PACS_008)


def test_admin_commands_add_a_participant_set_its_cap_and_a_rate(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    args = ["--database-url", url]
    added = runner.invoke(
        cli,
        ["participant-add", "HKBANK9", "--name", "Ninth HK Bank", "--jurisdiction", "HK", "--currency", "HKD", *args],
    )
    assert added.exit_code == 0, added.output
    assert runner.invoke(cli, ["cap", "HKBANK9", "250000.00", "HKD", *args]).exit_code == 0
    assert "250000.00 HKD" in runner.invoke(cli, ["positions", "HKBANK9", *args]).output
    refused = runner.invoke(cli, ["cap", "HKBANK9", "1.001", "HKD", *args])
    assert refused.exit_code == 2 and "AMOUNT_TOO_PRECISE" in refused.output
    rate = runner.invoke(cli, ["rate-set", "HKD", "CNY", "0.9200", "--spread-bps", "50", "--fee-fixed", "5.00", *args])
    assert rate.exit_code == 0 and "customer 0.91540000" in rate.output
