"""``baylink identity``: validate certificates and verify CMS signatures like the identity service.

By default the running identity service is asked over gRPC (``--target``, else the service's
settings, else 127.0.0.1:50051). With ``--trust-list DIR`` or ``--anchor ROOT.pem`` the same use
cases run in process instead, offline:

- ``--trust-list DIR`` uses the signed lists ``DIR/*.json``, verified against ``--signer`` PEMs
  or the signer certificates lying beside them; a refused (unsigned, tampered, untrusted) list
  stops the command with the refusal reason.
- ``--anchor ROOT.pem`` trusts bare roots, in whichever of HK, MO and GD their subject country
  names. Bare roots say nothing about recognised policies, so any policy under the scheme arc
  (2.16.344.8.2.2008.810.2) that the presented chain certifies is accepted; ``--policy`` still
  narrows it.

Revocation is checked online (CRL/OCSP from the certificates) and hard-fails by default.
``verify --offline-evidence DIR`` fetches nothing: a stored signature's evidence (exported by
``baylink registry evidence``) decides revocation, and its path helps build the chain.

Exit codes: 0 TOTAL_PASSED, 1 any other indication, 2 usage or input error (unreadable file,
bad PEM/DER, refused trust list, service not reachable).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from services.identity.domain.policy import KeyPurpose

app = typer.Typer(
    name="identity",
    help="Validate e-Cert certificates and verify CMS signatures (GBA mutual recognition).",
    no_args_is_help=True,
    add_completion=False,
)


class Revocation(StrEnum):
    HARD_FAIL = "hard-fail"
    SOFT_FAIL = "soft-fail"


ChainOpt = Annotated[
    list[Path] | None,
    typer.Option("--chain", metavar="FILE", help="Intermediate certificate(s), PEM (bundles allowed) or DER."),
]
AnchorOpt = Annotated[
    list[Path] | None,
    typer.Option("--anchor", metavar="ROOT.pem", help="Offline: trust this bare root certificate."),
]
TrustListOpt = Annotated[
    Path | None,
    typer.Option("--trust-list", metavar="DIR", help="Offline: trust the signed lists DIR/*.json."),
]
SignerOpt = Annotated[
    list[Path] | None,
    typer.Option("--signer", metavar="PEM", help="Trusted list signer for --trust-list (default: certs in DIR)."),
]
PolicyOpt = Annotated[
    list[str] | None,
    typer.Option("--policy", metavar="OID", help="Require one of these certificate policies."),
]
RevocationOpt = Annotated[
    Revocation | None,
    typer.Option("--revocation", help="Offline: unreachable revocation sources fail (default) or only warn."),
]
PurposeOpt = Annotated[
    KeyPurpose | None,
    typer.Option("--key-purpose", help="What CERT must be fit for (default document-signing)."),
]
TargetOpt = Annotated[str | None, typer.Option("--target", metavar="HOST:PORT", help="Identity service address.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")]


@app.callback()
def _group() -> None:
    """Certificate validation and signature verification (EN 319 102-1 reports).

    Asks the running identity service (--target, else BAYLINK_IDENTITY_GRPC_HOST/PORT, else
    127.0.0.1:50051); works offline with --trust-list DIR (signed lists) or --anchor ROOT.pem
    (bare roots: any scheme policy the chain certifies is accepted).
    Exit codes: 0 TOTAL_PASSED, 1 any other indication, 2 usage or input error.
    """


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _check_mode(anchors: list[Path], trust_list: Path | None, signers: list[Path], revocation: Any) -> bool:
    """True for offline mode; usage errors exit 2."""
    if anchors and trust_list is not None:
        _fail("give either --anchor or --trust-list, not both")
    if signers and trust_list is None:
        _fail("--signer applies to --trust-list only")
    offline = bool(anchors) or trust_list is not None
    if revocation is not None and not offline:
        _fail("--revocation applies offline only (with --anchor or --trust-list); the service uses its own policy")
    return offline


def _finish(report: dict[str, Any], as_json: bool, signature: bool) -> NoReturn:
    from services.identity.entrypoints.cli_render import console, signature_view, validation_view

    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    elif report.get("kind") == "pdf":
        from services.identity.entrypoints.cli_pdf import pdf_view

        console().print(pdf_view(report))
    else:
        console().print(signature_view(report) if signature else validation_view(report))
    raise typer.Exit(0 if report["indication"] == "TOTAL_PASSED" else 1)


def _run(action: Any) -> dict[str, Any]:
    """Run `action`, turning every input, service and domain error into exit 2."""
    from baylink import errors
    from services.identity.entrypoints.cli_inputs import InputError
    from services.identity.entrypoints.cli_online import ServiceError

    try:
        result: dict[str, Any] = action()
        return result
    except (InputError, ServiceError) as exc:
        _fail(str(exc))
    except errors.BaylinkError as exc:  # e.g. InvalidInput of a use case: "field: what is wrong"
        _fail(str(exc))


@app.command("validate")
def validate_command(
    cert: Annotated[Path, typer.Argument(metavar="CERT", help="The certificate, PEM or DER (a bundle: leaf first).")],
    chain: ChainOpt = None,
    anchor: AnchorOpt = None,
    trust_list: TrustListOpt = None,
    signer: SignerOpt = None,
    at: Annotated[str | None, typer.Option("--at", metavar="ISO-8601", help="Validation time (default now).")] = None,
    policy: PolicyOpt = None,
    revocation: RevocationOpt = None,
    key_purpose: PurposeOpt = None,
    target: TargetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate CERT at a time: indication, reason, chain, jurisdiction, messages.

    Offline tool with --anchor or --trust-list: validates in this process and asks no service.
    """
    anchors, signers = anchor or [], signer or []
    offline = _check_mode(anchors, trust_list, signers, revocation)

    def action() -> dict[str, Any]:
        from services.identity.entrypoints import cli_inputs as inputs
        from services.identity.entrypoints import cli_report as reports

        leaf, *carried = inputs.certificates(cert)
        intermediates = [*carried, *inputs.certificates_of(chain or [])]
        moment = inputs.moment(at)
        requested = inputs.policy_oids(policy or [])
        purpose = key_purpose or KeyPurpose.DOCUMENT_SIGNING
        if offline:
            from services.identity.entrypoints import cli_offline as local

            trust = local.Trust(tuple(anchors), trust_list, tuple(signers))
            rules = local.policy(revocation.value if revocation else None, requested, purpose)
            return reports.validation_dict(local.validate(trust, leaf, intermediates, moment, rules))
        from services.identity.entrypoints import cli_online as remote

        address = target or remote.default_target()
        report = remote.validate(address, leaf, intermediates, moment, requested, purpose)
        return reports.validation_from_proto(report)

    _finish(_run(action), as_json, signature=False)


@app.command("verify")
def verify_command(
    signature: Annotated[
        Path,
        typer.Option(
            "--signature", metavar="FILE", help="Detached CMS SignedData (DER or PEM), or a signed PDF (PAdES)."
        ),
    ],
    document: Annotated[
        Path | None,
        typer.Option(
            "--document",
            metavar="FILE",
            help="The signed document (not for a signed PDF; with --offline-evidence: DIR/document).",
        ),
    ] = None,
    chain: ChainOpt = None,
    anchor: AnchorOpt = None,
    trust_list: TrustListOpt = None,
    signer: SignerOpt = None,
    policy: PolicyOpt = None,
    revocation: RevocationOpt = None,
    offline_evidence: Annotated[
        Path | None,
        typer.Option(
            "--offline-evidence",
            metavar="DIR",
            help="Re-judge a stored signature with no network: revocation only from DIR's OCSP responses and "
            "CRLs (`baylink registry evidence`). Trust: --anchor, --trust-list, else the identity service's lists.",
        ),
    ] = None,
    target: TargetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a detached CMS signature over FILE, or every signature of a signed PDF, and validate
    the signers' certificates.

    A PDF given as --signature (no --document) is reported signature by signature: signer,
    indication, what it covers (the whole document or an earlier revision), changes after signing
    against its DocMDP/FieldMDP permissions, PAdES level and timestamps (each judged).
    Offline tool with --anchor or --trust-list: verifies in this process and asks no service.
    With --offline-evidence DIR nothing is fetched at all: the evidence kept beside a stored
    signature decides revocation.
    """
    anchors, signers = anchor or [], signer or []
    if offline_evidence is not None:
        if revocation is not None or target is not None:
            _fail("--offline-evidence decides revocation from the evidence alone: no --revocation, no --target")
        evidence_verify(signature, document, offline_evidence, anchors, trust_list, signers, chain, policy, as_json)
    offline = _check_mode(anchors, trust_list, signers, revocation)

    def action() -> dict[str, Any]:
        from services.identity.adapters.pdf_signatures import looks_like_pdf
        from services.identity.entrypoints import cli_inputs as inputs
        from services.identity.entrypoints import cli_report as reports

        signed = inputs.read_file(signature)
        intermediates = inputs.certificates_of(chain or [])
        requested = inputs.policy_oids(policy or [])
        if looks_like_pdf(signed):
            if document is not None:
                raise inputs.InputError(f"{signature}: a signed PDF carries its document; leave out --document")
            return _verify_pdf(signed, intermediates, requested)
        if document is None:
            raise inputs.InputError(f"{signature}: not a PDF, so give the signed document with --document")
        content = inputs.read_file(document)
        cms = inputs.cms_signature(signature)
        if offline:
            from services.identity.entrypoints import cli_offline as local

            trust = local.Trust(tuple(anchors), trust_list, tuple(signers))
            rules = local.policy(revocation.value if revocation else None, requested)
            return reports.signature_dict(local.verify(trust, content, cms, intermediates, rules))
        from services.identity.entrypoints import cli_online as remote

        address = target or remote.default_target()
        return reports.signature_from_proto(remote.verify(address, content, cms, intermediates, requested))

    def _verify_pdf(pdf: bytes, intermediates: list[bytes], requested: frozenset[str] | None) -> dict[str, Any]:
        from services.identity.entrypoints import cli_pdf

        if offline:
            from services.identity.entrypoints import cli_offline as local

            trust = local.Trust(tuple(anchors), trust_list, tuple(signers))
            rules = local.policy(revocation.value if revocation else None, requested)
            return cli_pdf.pdf_dict(local.verify_pdf(trust, pdf, intermediates, rules))
        from services.identity.entrypoints import cli_online as remote

        return cli_pdf.pdf_from_proto(
            remote.verify_pdf(target or remote.default_target(), pdf, intermediates, requested)
        )

    _finish(_run(action), as_json, signature=True)


def evidence_verify(
    signature: Path,
    document: Path | None,
    directory: Path,
    anchors: list[Path],
    trust_list: Path | None,
    signers: list[Path],
    chain: list[Path] | None,
    policy: list[str] | None,
    as_json: bool,
) -> NoReturn:
    """`verify --offline-evidence DIR`: the stored signature judged from its evidence alone."""
    _check_mode(anchors, trust_list, signers, None)

    def action() -> dict[str, Any]:
        from services.identity.entrypoints import cli_offline as local

        trust = local.Trust(tuple(anchors), trust_list, tuple(signers))
        return local.evidence_dict(trust, signature, document, directory, chain or [], policy or [])

    _finish(_run(action), as_json, signature=True)
