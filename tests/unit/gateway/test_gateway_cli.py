"""``baylink audit verify`` and ``baylink pki``, through the real command line."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from baylink.cli.main import app
from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import load_or_create_signing_key
from services.gateway.audit.adapters.store import audit_records
from tests.unit.gateway.conftest import entry, make_log, migrate_gateway

runner = CliRunner()


def _write_log(tmp_path: Path, records: int) -> tuple[str, Path]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    key = tmp_path / "audit.pem"

    async def write() -> None:
        db = await migrate_gateway(Database(url))
        log = make_log(db, load_or_create_signing_key(key))
        for i in range(records):
            await log.append(entry(i))
        await db.dispose()

    asyncio.run(write())
    return url, key.with_name("audit.pem.pub")


def _edit(url: str, sequence: int) -> None:
    async def edit() -> None:
        db = Database(url)
        async with db.transaction() as session:
            await session.execute(
                sa.update(audit_records).where(audit_records.c.sequence == sequence).values(actor="city:440300")
            )
        await db.dispose()

    asyncio.run(edit())


def test_audit_verify_prints_ok_with_counts_and_exits_0(tmp_path: Path) -> None:
    url, public_key = _write_log(tmp_path, 25)
    result = runner.invoke(app, ["audit", "verify", "--database", url, "--public-key", str(public_key)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 25 records, 2 checkpoints verified")


def test_audit_verify_names_the_edited_record_and_exits_1(tmp_path: Path) -> None:
    url, public_key = _write_log(tmp_path, 25)
    _edit(url, 7)
    result = runner.invoke(app, ["audit", "verify", "--database", url, "--public-key", str(public_key)])
    assert result.exit_code == 1
    assert result.output.startswith("TAMPERED: edited at seq 7:")


def test_audit_verify_without_a_public_key_is_a_usage_error(tmp_path: Path) -> None:
    url, _ = _write_log(tmp_path, 1)
    result = runner.invoke(app, ["audit", "verify", "--database", url, "--public-key", str(tmp_path / "none.pub")])
    assert result.exit_code == 2 and "no public key" in result.output


def test_audit_verify_of_a_database_without_an_audit_log_is_a_usage_error(tmp_path: Path) -> None:
    _, public_key = _write_log(tmp_path, 1)
    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE unrelated (x)").connection.close()
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["audit", "verify", "--database", empty, "--public-key", str(public_key)])
    assert result.exit_code == 2 and "cannot read the audit log" in result.output


def test_audit_verify_of_a_missing_sqlite_file_fails_without_creating_it(tmp_path: Path) -> None:
    _, public_key = _write_log(tmp_path, 1)
    missing = tmp_path / "missing.db"
    result = runner.invoke(
        app, ["audit", "verify", "--database", f"sqlite+aiosqlite:///{missing}", "--public-key", str(public_key)]
    )
    assert result.exit_code == 2 and "no database" in result.output
    assert not missing.exists()


def test_pki_init_then_issue_city_writes_the_credentials(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert runner.invoke(app, ["pki", "init", "--dir", str(pki)]).exit_code == 0
    issued = runner.invoke(app, ["pki", "issue-city", "440605", "--dir", str(pki)])
    assert issued.exit_code == 0 and "440605 Nanhai" in issued.output
    assert (pki / "cities" / "440605.crt").is_file() and (pki / "cities" / "440605.key").is_file()


def test_pki_issue_city_refuses_a_code_that_is_not_a_partner_city(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    runner.invoke(app, ["pki", "init", "--dir", str(pki)])
    refused = runner.invoke(app, ["pki", "issue-city", "110000", "--dir", str(pki)])
    assert refused.exit_code == 2 and "not a partner city" in refused.output
    assert not (pki / "cities" / "110000.crt").exists()
