"""``baylink registry evidence APPLICATION [--out DIR]``: export what is kept beside each stored signature.

Offline: reads the registry's database (``--database-url``, default BAYLINK_REGISTRY_DATABASE_URL),
not the running service. Writes one directory per stored signature (format in baylink/evidence.py):
the document, the time-stamped CMS, the token, the signer's path and its OCSP responses and CRLs,
which ``baylink identity verify --offline-evidence DIR`` judges again with no network.
Exit codes: 0 written, 1 the application has no stored signature, 2 unknown application or bad input.

``baylink registry archive-stamp DIR...`` renews exported evidence (CAdES B-LTA in the manner of
RFC 4998): asks the TSA (``--tsa-url``, default BAYLINK_REGISTRY_TSA_URL) for a token over the
directory's manifest (``baylink.evidence.archive_imprint``: every file, the earlier archive tokens
too) and adds it as ``archive/NN.tst``. Exit codes: 0 stamped, 1 the TSA gave no token, 2 bad input.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated

import typer
from asn1crypto import cms

from baylink import errors
from baylink import evidence as files
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from services.registry.adapters.pdf_signatures import pdf_signatures
from services.registry.adapters.timestamps import HttpTimeStamper
from services.registry.adapters.unit_of_work import SqlUnitOfWork
from services.registry.config import RegistrySettings
from services.registry.service_layer.evidence import StoredSignature, stored_signatures

app = typer.Typer(
    name="registry",
    help="The registry's stored records, offline (reads its database, not the running service).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Registry records, read from its database."""


async def _load(database_url: str, application_id: str) -> list[StoredSignature]:
    settings = RegistrySettings(database_url=database_url) if database_url else RegistrySettings()
    db = Database(settings.database_url)
    try:
        return await stored_signatures(SqlUnitOfWork(db, EventTypes.from_contracts(), "baylink-cli"), application_id)
    finally:
        await db.dispose()


def _name(number: int, stored: StoredSignature) -> str:
    signer = re.sub(r"[^A-Za-z0-9._-]+", "_", stored.evidence.signer_ref)[:60]
    return f"{number:02d}-{stored.material_type}-{signer}"


def _signed_bytes(document: bytes, stamped_cms: bytes) -> bytes:
    """What the signature covers: the document, or for a signature inside a PDF its /ByteRange."""
    if b"%PDF-" not in document[:1024]:
        return document
    value = cms.ContentInfo.load(stamped_cms)["content"]["signer_infos"][0]["signature"].native
    try:
        parts = pdf_signatures(document)
    except ValueError:  # a detached signature over a file that only starts like a PDF
        return document
    for part in parts:
        if cms.ContentInfo.load(part.cms_signature)["content"]["signer_infos"][0]["signature"].native == value:
            return part.covered
    return document  # a detached signature over a PDF file


@app.command("evidence")
def evidence(
    application_id: Annotated[str, typer.Argument(metavar="APPLICATION", help="The application's id.")],
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Default ./evidence-APPLICATION.")] = None,
    database_url: Annotated[
        str, typer.Option("--database-url", help="Default BAYLINK_REGISTRY_DATABASE_URL (the local SQLite file).")
    ] = "",
) -> None:
    """Export the evidence of every stored signature of APPLICATION (CAdES B-T with B-LT data)."""
    try:
        found = asyncio.run(_load(database_url, application_id))
    except errors.BaylinkError as exc:
        typer.echo(f"error: {exc.reason}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    if not found:
        typer.echo(f"application {application_id} has no stored signature", err=True)
        raise typer.Exit(1)
    target = out or Path(f"evidence-{application_id}")
    for number, stored in enumerate(found, 1):
        kept = stored.evidence
        data = kept.validation_data
        directory = target / _name(number, stored)
        about = {
            "application_id": kept.application_id,
            "material_id": kept.material_id,
            "material_type": stored.material_type,
            "filename": stored.filename,
            "signer_ref": kept.signer_ref,
            "certificate_sha256": kept.certificate_sha256,
            "stamped_at": kept.stamped.gen_time.isoformat(),
            "stored_at": kept.stored_at.isoformat(),
        }
        document = _signed_bytes(stored.document, kept.stamped.cms_signature)
        if document is not stored.document:
            about["document"] = "the bytes the PDF signature covers (its /ByteRange); the PDF is the material"
        package = files.EvidenceFiles(
            document,
            kept.stamped.cms_signature,
            kept.stamped.token,
            data.certificates,
            data.ocsp_responses,
            data.crls,
            about,
        )
        files.write(directory, package)
        typer.echo(
            f"{directory}: {stored.material_type} signed by {kept.signer_ref}, stamped {about['stamped_at']}, "
            f"{len(data.certificates)} certificates, {len(data.ocsp_responses)} OCSP, {len(data.crls)} CRLs"
        )


@app.command("archive-stamp")
def archive_stamp(
    directories: Annotated[
        list[Path], typer.Argument(metavar="DIR", help="Evidence directories (of `registry evidence`).")
    ],
    tsa_url: Annotated[str, typer.Option("--tsa-url", help="Default BAYLINK_REGISTRY_TSA_URL.")] = "",
) -> None:
    """Add an archive time-stamp to each evidence directory (B-LTA): a token over all it holds.

    Run it again before the certificate of the TSA that made the newest token expires (or if that
    TSA is compromised): each new token proves that everything before it, the older tokens
    included, existed at its time, so `identity verify --offline-evidence` judges each older token
    at that time and not now."""
    url = tsa_url or RegistrySettings().tsa_url
    if not re.match(r"^https?://", url):
        typer.echo(f"error: --tsa-url: {url!r} is not an http(s) URL", err=True)
        raise typer.Exit(2)
    kept: list[tuple[Path, files.EvidenceFiles]] = []
    for directory in directories:
        try:
            kept.append((directory, files.read(directory)))
        except files.EvidenceError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    stamper = HttpTimeStamper(url)
    for directory, evidence in kept:
        try:
            token = asyncio.run(stamper.token(files.archive_imprint(evidence)))
        except errors.BaylinkError as exc:
            typer.echo(f"error: {directory}: {exc.reason}: {exc.message}", err=True)
            raise typer.Exit(1) from None
        renewed = files.with_archive_token(evidence, bytes(token.dump()))
        files.write(directory, renewed)
        gen_time = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
        typer.echo(f"{directory}: archive time-stamp {len(renewed.archive)} at {gen_time.isoformat()}")
