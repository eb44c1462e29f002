"""``baylink audit``: check the gateway's tamper-evident audit log; pin the key that checks it.

``verify`` recomputes the hash chain from the first record, checks every signed checkpoint and the
signed chain head with the trusted audit public key(s), and prints either ``OK`` with counts or the
first finding, naming the sequence number (edited, removed, reordered, checkpoint or head signature
invalid, checkpoint not matching the chain). With ``--against-kafka`` it also requires every
checkpoint the gateway published on Kafka to be in the database unchanged, and the database's head
to be at or past the newest: that catches a log cut back to an older copy of itself.

The keys trusted are those pinned with ``trust-key`` (``BAYLINK_GATEWAY_AUDIT_TRUSTED_KEYS_DIR``)
or given with ``--public-key``; never a key in the signing key's directory, which the writer controls.

Exit codes: 0 the log verifies, 1 it does not, 2 usage error (no database, no trusted key, no topic).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from baylink.runtime.db import Database
from baylink.runtime.settings import LOCAL_DIR
from services.gateway.audit.adapters.keys import Ed25519Verifier, key_id_of, load_public_key
from services.gateway.audit.adapters.published import published_checkpoints
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.adapters.trust import pin_public_key, trusted_key_files, writable_by_the_signer
from services.gateway.audit.domain.anchor import PublishedCheckpoint
from services.gateway.audit.domain.verify import VerificationReport
from services.gateway.audit.service_layer.verify import verify_log
from services.gateway.config import GatewaySettings

# The gateway's default database (ServiceSettings' default for service "gateway").
DEFAULT_DATABASE = f"sqlite+aiosqlite:///{LOCAL_DIR / 'gateway' / 'gateway.db'}"
DEFAULT_TOPIC = "baylink.gateway.v1"

app = typer.Typer(name="audit", help="The gateway's tamper-evident audit log.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Hash-chained audit records with an Ed25519-signed head and signed checkpoints."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _settings() -> GatewaySettings:
    try:
        return GatewaySettings()
    except ValidationError as exc:
        _fail(f"gateway settings: {exc}")


def _trusted(given: list[Path] | None, settings: GatewaySettings) -> list[Path]:
    keys = given or trusted_key_files(settings.audit_trusted_keys_dir)
    if not keys:
        _fail(
            f"no trusted audit key in {settings.audit_trusted_keys_dir}: pin the gateway's public key with "
            "`baylink audit trust-key PATH` (a copy taken from the gateway host) or pass --public-key"
        )
    for path in keys:
        if not path.is_file():
            _fail(f"no public key at {path} (pass --public-key)")
        if writable_by_the_signer(path, settings.audit_key_path):
            _fail(
                f"{path} lies beside the gateway's signing key ({settings.audit_key_path}), which whoever "
                "writes the log can replace too: pin a copy elsewhere with `baylink audit trust-key`"
            )
    return keys


@app.command()
def verify(
    database: Annotated[str, typer.Option("--database", help="The gateway's database URL.")] = DEFAULT_DATABASE,
    public_key: Annotated[
        list[Path] | None,
        typer.Option("--public-key", help="Audit public key (PEM); repeat for rotated keys. Default: the pinned keys."),
    ] = None,
    against_kafka: Annotated[
        bool, typer.Option("--against-kafka", help="Also compare with the checkpoints published on Kafka.")
    ] = False,
    topic: Annotated[str, typer.Option("--topic", help="Where the gateway publishes its checkpoints.")] = "",
) -> None:
    """Verify the chain, the checkpoints and the signed head; name the first broken record.

    Reads the gateway's database (and with --against-kafka its topic) directly; needs no running
    gateway, writes nothing.
    """
    settings = _settings()
    parsed = make_url(database)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        _fail(f"no database at {parsed.database}")  # and do not create an empty one by opening it
    try:
        verifier = Ed25519Verifier.from_pem_files(_trusted(public_key, settings))
    except ValueError as exc:
        _fail(str(exc))
    published: list[PublishedCheckpoint] | None = None
    if against_kafka:  # read before the database's head (see domain/anchor.py)
        where = topic or settings.events_topic or DEFAULT_TOPIC
        try:
            published = asyncio.run(published_checkpoints(settings.kafka, where, settings.source))
        except (LookupError, KafkaError, TimeoutError) as exc:
            _fail(f"cannot read the published checkpoints from {where}: {exc!r}")
    try:
        report = asyncio.run(_verify(database, verifier, published))
    except (OperationalError, ProgrammingError, DBAPIError) as exc:
        _fail(f"cannot read the audit log at {database}: {exc.orig!r}")
    typer.echo(describe(report))
    raise typer.Exit(0 if report.ok else 1)


@app.command("trust-key")
def trust_key(public_key: Annotated[Path, typer.Argument(help="The gateway's audit public key (PEM).")]) -> None:
    """Pin an audit public key for `verify`, in the trusted keys directory (kept if already pinned)."""
    settings = _settings()
    try:
        key_id = key_id_of(load_public_key(public_key))
        pinned = pin_public_key(public_key, settings.audit_trusted_keys_dir)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"trusted audit key {key_id}: {pinned}")


def describe(report: VerificationReport) -> str:
    if report.finding is None:
        kafka = "" if report.published is None else f"; {report.published} published checkpoints match Kafka"
        return (
            f"OK: {report.records} records, {report.checkpoints} checkpoints verified; "
            f"head seq {report.last_sequence} {report.last_hash[:16]}{kafka}"
        )
    f = report.finding
    return f"TAMPERED: {f.kind.value} at seq {f.sequence}: {f.message} ({report.records} records verified before it)"


async def _verify(
    url: str, verifier: Ed25519Verifier, published: list[PublishedCheckpoint] | None
) -> VerificationReport:
    db = Database(url)
    try:
        return await verify_log(SqlAuditStore(db), verifier, published)
    finally:
        await db.dispose()
