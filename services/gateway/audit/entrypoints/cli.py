"""``baylink audit verify``: check the gateway's tamper-evident audit log.

Recomputes the hash chain from the first record, checks every signed checkpoint with the audit
public key(s), and prints either ``OK`` with counts or the first finding, naming the sequence
number (edited, removed, reordered, checkpoint signature invalid, checkpoint not matching the
chain). The database is only read.

Exit codes: 0 the log verifies, 1 it does not, 2 usage error (no database, no key).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from baylink.runtime.db import Database
from baylink.runtime.settings import LOCAL_DIR
from services.gateway.audit.adapters.keys import DEFAULT_AUDIT_KEY, Ed25519Verifier, public_key_path
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.domain.verify import VerificationReport
from services.gateway.audit.service_layer.verify import verify_log

# The gateway's default database (ServiceSettings' default for service "gateway").
DEFAULT_DATABASE = f"sqlite+aiosqlite:///{LOCAL_DIR / 'gateway' / 'gateway.db'}"

app = typer.Typer(name="audit", help="The gateway's tamper-evident audit log.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Hash-chained audit records with Ed25519-signed checkpoints."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def verify(
    database: Annotated[str, typer.Option("--database", help="The gateway's database URL.")] = DEFAULT_DATABASE,
    public_key: Annotated[
        list[Path] | None,
        typer.Option("--public-key", help="Audit public key (PEM); repeat for rotated keys. Default: the local key's."),
    ] = None,
) -> None:
    """Verify the chain and the checkpoints; name the first broken record.

    Offline: reads the gateway's database and key files directly, needs no running gateway, writes nothing.
    """
    parsed = make_url(database)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        _fail(f"no database at {parsed.database}")  # and do not create an empty one by opening it
    keys = public_key or [public_key_path(DEFAULT_AUDIT_KEY)]
    for path in keys:
        if not path.is_file():
            _fail(f"no public key at {path} (pass --public-key)")
    try:
        verifier = Ed25519Verifier.from_pem_files(keys)
    except ValueError as exc:
        _fail(str(exc))
    try:
        report = asyncio.run(_verify(database, verifier))
    except (OperationalError, ProgrammingError, DBAPIError) as exc:
        _fail(f"cannot read the audit log at {database}: {exc.orig!r}")
    typer.echo(describe(report))
    raise typer.Exit(0 if report.ok else 1)


def describe(report: VerificationReport) -> str:
    if report.finding is None:
        return (
            f"OK: {report.records} records, {report.checkpoints} checkpoints verified; "
            f"head seq {report.last_sequence} {report.last_hash[:16]}"
        )
    f = report.finding
    return f"TAMPERED: {f.kind.value} at seq {f.sequence}: {f.message} ({report.records} records verified before it)"


async def _verify(url: str, verifier: Ed25519Verifier) -> VerificationReport:
    db = Database(url)
    try:
        return await verify_log(SqlAuditStore(db), verifier)
    finally:
        await db.dispose()
