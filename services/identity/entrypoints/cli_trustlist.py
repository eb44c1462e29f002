"""``baylink trustlist``: sign, verify and show trust-list documents (``baylink.trustlist.v1``).

The unsigned list given to ``sign`` is JSON in the codec's trust-list shape
(``services/identity/domain/trustlist_codec.py``): either the bare list object
(``jurisdiction``, ``sequence_number``, ``issue_date``, ``next_update``, ``scheme_operator``,
``services``) or a document holding it under ``"trust_list"`` (a signature already there is
replaced).

Exit codes: 0 done / the list verifies with a trusted signer, 1 the list is refused (``verify``),
2 usage or input error (unreadable file, malformed list, key not matching the certificate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    name="trustlist",
    help="Sign, verify and show the signed trust lists of the mutual-recognition scheme.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Trust-list documents: one per jurisdiction (HK, MO, GD), signed by its scheme operator."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _unsigned_list(path: Path) -> Any:
    from services.identity.domain import canonical_json
    from services.identity.domain.errors import InvalidInput
    from services.identity.domain.trustlist_codec import list_from_dict
    from services.identity.entrypoints.cli_inputs import InputError, read_file

    try:
        raw = canonical_json.loads(read_file(path), "list")
        if isinstance(raw, dict) and "trust_list" in raw:
            raw = raw["trust_list"]
        if not isinstance(raw, dict):
            raise InvalidInput("trust_list", "wrong_type", "expected a JSON object")
        return list_from_dict(raw)
    except InvalidInput as exc:
        raise InputError(f"{path}: {exc.field}: {exc.message}") from exc


def _signing_key(path: Path) -> Any:
    from services.identity.adapters.keys import SigningKey
    from services.identity.entrypoints.cli_inputs import InputError, read_file

    try:
        return SigningKey.load_pem(read_file(path))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not an unencrypted PEM private key ({exc})".splitlines()[0]) from exc


@app.command("sign")
def sign_command(
    list_path: Annotated[Path, typer.Option("--list", metavar="LIST.json", help="The unsigned trust list.")],
    key: Annotated[Path, typer.Option("--key", metavar="KEY.pem", help="The list signer's private key (PKCS#8 PEM).")],
    cert: Annotated[Path, typer.Option("--cert", metavar="SIGNER.pem", help="The list signer's certificate.")],
    out: Annotated[Path, typer.Option("--out", metavar="SIGNED.json", help="Where to write the signed document.")],
) -> None:
    """Sign LIST.json with KEY.pem as SIGNER.pem and write the signed document to SIGNED.json.

    Offline tool: works on the files given and asks no service.
    """
    from asn1crypto import x509

    from services.identity.adapters.trustlist_signature import ListSignatureVerifier, sign_trust_list
    from services.identity.domain.trustlist_codec import decode_document
    from services.identity.entrypoints.cli_inputs import InputError, certificates

    try:
        trust_list = _unsigned_list(list_path)
        signing_key = _signing_key(key)
        signer = certificates(cert)
        if len(signer) != 1:
            raise InputError(f"{cert}: expected one certificate, found {len(signer)}")
        document = sign_trust_list(trust_list, signing_key, signer[0]) + b"\n"
    except InputError as exc:
        _fail(str(exc))
    if not ListSignatureVerifier().signature_valid(decode_document(document)):
        _fail(f"{key}: the key does not belong to the certificate {cert}")
    try:
        out.write_bytes(document)
    except OSError as exc:
        _fail(f"{out}: cannot write ({exc.strerror or type(exc).__name__})")
    subject = x509.Certificate.load(signer[0]).subject.human_friendly
    typer.echo(
        f"signed {trust_list.jurisdiction} trust list #{trust_list.sequence_number} "
        f"({len(trust_list.services)} services) as {subject} -> {out}"
    )


@app.command("verify")
def verify_command(
    signed: Annotated[Path, typer.Argument(metavar="SIGNED.json", help="The signed trust-list document.")],
    signer: Annotated[
        list[Path] | None,
        typer.Option("--signer", metavar="PEM", help="Trusted signer certificate (default: certs beside the list)."),
    ] = None,
) -> None:
    """Check the signature of SIGNED.json and that its signer is trusted; exit 1 with the reason if not.

    Offline tool: checks the file in this process, as the service would, and asks no service.
    """
    from services.identity.bootstrap import list_store
    from services.identity.domain.trustlist import Jurisdiction
    from services.identity.entrypoints.cli_inputs import InputError, read_file
    from services.identity.entrypoints.cli_offline import list_signers
    from services.identity.service_layer.trust_store import Refusal

    try:
        data = read_file(signed)
        signers = list_signers(signed.parent, signer or [])
    except InputError as exc:
        _fail(str(exc))
    result = list_store(dict.fromkeys(Jurisdiction, signers)).load(data)
    if not result.accepted:
        hint = ""
        if result.refusal is Refusal.SIGNER_NOT_TRUSTED and not signers:
            hint = "; no signer certificate found beside the list, give one with --signer"
        typer.echo(f"{signed}: refused: {result.refusal} ({result.detail}{hint})")
        raise typer.Exit(1)
    typer.echo(
        f"{signed}: signature verifies; {result.jurisdiction} trust list #{result.sequence_number} "
        "signed by a trusted signer"
    )


@app.command("show")
def show_command(
    signed: Annotated[Path, typer.Argument(metavar="SIGNED.json", help="The signed trust-list document.")],
) -> None:
    """Print a trust list: jurisdiction, sequence, dates and every service (not a signature check).

    Offline tool: reads the file and asks no service.
    """
    from services.identity.domain.errors import InvalidInput
    from services.identity.domain.trustlist_codec import decode_document
    from services.identity.entrypoints.cli_inputs import InputError, read_file
    from services.identity.entrypoints.cli_render import console
    from services.identity.entrypoints.cli_trustlist_view import list_view

    try:
        document = decode_document(read_file(signed))
    except InputError as exc:
        _fail(str(exc))
    except InvalidInput as exc:
        _fail(f"{signed}: {exc.field}: {exc.message}")
    console().print(list_view(document))
