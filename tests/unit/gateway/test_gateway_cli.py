"""``baylink audit verify`` and ``baylink pki``, through the real command line."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from typer.testing import CliRunner

from baylink.cli.main import app
from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import load_or_create_signing_key
from services.gateway.audit.adapters.store import audit_checkpoints, audit_head, audit_records
from services.gateway.audit.entrypoints import cli as audit_cli
from tests.unit.gateway.conftest import entry, make_log, migrate_gateway

runner = CliRunner()


def _write_log(tmp_path: Path, records: int, key: Path | None = None, *, wipe: bool = False) -> tuple[str, Path]:
    """A log of ``records`` signed with ``key`` (``wipe``: replacing whatever log the database held)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    key = key or tmp_path / "audit.pem"

    async def write() -> None:
        db = await migrate_gateway(Database(url))
        if wipe:
            async with db.transaction() as session:
                await session.execute(sa.delete(audit_records))
                await session.execute(sa.delete(audit_checkpoints))
                await session.execute(sa.update(audit_head).values(
                    last_sequence=0, last_hash="0" * 64, last_recorded_at=None, checkpoint_sequence=0,
                    pending_since=None,
                ))  # fmt: skip
        log = make_log(db, load_or_create_signing_key(key))
        for i in range(records):
            await log.append(entry(i))
        await db.dispose()

    asyncio.run(write())
    return url, key.with_name(key.name + ".pub")


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


def test_audit_verify_trusts_the_pinned_key_not_a_new_key_swapped_in_beside_the_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway_key = tmp_path / "gateway" / "audit.pem"
    url, public_key = _write_log(tmp_path, 25, gateway_key)
    _configure(monkeypatch, gateway_key, tmp_path / "trust")
    pinned = runner.invoke(app, ["audit", "trust-key", str(public_key)])
    assert pinned.exit_code == 0, pinned.output
    assert runner.invoke(app, ["audit", "verify", "--database", url]).output.startswith("OK: 25 records")
    # The intruder makes a key of their own where the gateway's was and writes a whole new log with it.
    gateway_key.unlink()
    public_key.unlink()
    _write_log(tmp_path, 25, gateway_key, wipe=True)
    result = runner.invoke(app, ["audit", "verify", "--database", url])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("TAMPERED: checkpoint_signature_invalid at seq 10")


def test_audit_verify_refuses_to_trust_a_public_key_beside_the_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway_key = tmp_path / "gateway" / "audit.pem"
    url, public_key = _write_log(tmp_path, 3, gateway_key)
    _configure(monkeypatch, gateway_key, tmp_path / "trust")
    result = runner.invoke(app, ["audit", "verify", "--database", url, "--public-key", str(public_key)])
    assert result.exit_code == 2 and "beside the gateway's signing key" in result.output


def test_audit_verify_with_no_key_pinned_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway_key = tmp_path / "gateway" / "audit.pem"
    url, _ = _write_log(tmp_path, 1, gateway_key)
    _configure(monkeypatch, gateway_key, tmp_path / "trust")
    result = runner.invoke(app, ["audit", "verify", "--database", url])
    assert result.exit_code == 2 and "no trusted audit key" in result.output


def _configure(monkeypatch: pytest.MonkeyPatch, gateway_key: Path, trust_dir: Path) -> None:
    """The gateway's signing key and the auditor's trusted keys directory, as settings say."""
    monkeypatch.setenv("BAYLINK_GATEWAY_AUDIT_KEY_PATH", str(gateway_key))
    monkeypatch.setenv("BAYLINK_GATEWAY_AUDIT_TRUSTED_KEYS_DIR", str(trust_dir))
    # Where a verifier without pinned keys would look: beside the signing key.
    monkeypatch.setattr(audit_cli, "DEFAULT_AUDIT_KEY", gateway_key, raising=False)


def test_pki_init_then_issue_city_writes_the_credentials(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert (
        runner.invoke(app, ["pki", "init", "--dir", str(pki), "--internal-dir", str(pki / "internal")]).exit_code == 0
    )
    issued = runner.invoke(app, ["pki", "issue-city", "440605", "--dir", str(pki)])
    assert issued.exit_code == 0 and "440605 Nanhai" in issued.output
    assert (pki / "cities" / "440605.crt").is_file() and (pki / "cities" / "440605.key").is_file()


def test_pki_issue_city_refuses_a_code_that_is_not_a_partner_city(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    runner.invoke(app, ["pki", "init", "--dir", str(pki), "--internal-dir", str(pki / "internal")])
    refused = runner.invoke(app, ["pki", "issue-city", "110000", "--dir", str(pki)])
    assert refused.exit_code == 2 and "not a partner city" in refused.output
    assert not (pki / "cities" / "110000.crt").exists()


def test_pki_revoke_city_lists_the_certificate_in_the_cas_crl(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    runner.invoke(app, ["pki", "init", "--dir", str(pki), "--internal-dir", str(pki / "internal")])
    runner.invoke(app, ["pki", "issue-city", "440605", "--dir", str(pki)])
    cert = x509.load_pem_x509_certificate((pki / "cities" / "440605.crt").read_bytes())
    revoked = runner.invoke(
        app, ["pki", "revoke-city", str(pki / "cities" / "440605.crt"), "--dir", str(pki), "--reason", "key-compromise"]
    )
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked serial {cert.serial_number:x} (key-compromise)" in revoked.output
    crl = x509.load_pem_x509_crl((pki / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def test_pki_revoke_city_refuses_a_certificate_of_another_ca(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for pki in (ours, theirs):
        runner.invoke(app, ["pki", "init", "--dir", str(pki), "--internal-dir", str(pki / "internal")])
    runner.invoke(app, ["pki", "issue-city", "440605", "--dir", str(theirs)])
    refused = runner.invoke(app, ["pki", "revoke-city", str(theirs / "cities" / "440605.crt"), "--dir", str(ours)])
    assert refused.exit_code == 2 and "not a certificate issued by this partner CA" in refused.output
    assert len(list(x509.load_pem_x509_crl((ours / "crl.pem").read_bytes()))) == 0
