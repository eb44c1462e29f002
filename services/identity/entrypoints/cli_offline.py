"""Offline mode of `baylink identity`: the identity use cases in process, trusting files.

`--trust-list DIR` loads every `DIR/*.json` through a `TrustListStore`, exactly as the service
does: a list is used only if its signature verifies with a trusted signer certificate, which is
given with `--signer` or, failing that, any certificate file lying beside the lists. A refused
list stops the command with the store's refusal reason.

`--anchor ROOT.pem` trusts bare roots instead (see `services.identity.service_layer.offline`
for the jurisdiction and policy choices that implies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509

from baylink import evidence as evidence_files
from baylink.evidence import EvidenceFiles
from services.identity.adapters import der
from services.identity.adapters.crypto import X509Reader
from services.identity.adapters.pdf_signatures import PyHankoPdfReader
from services.identity.adapters.pkix import PkixEngine
from services.identity.bootstrap import certificate_validator, list_store, pdf_verifier, signature_verifier
from services.identity.domain.pdf import PdfReport, SignatureKind
from services.identity.domain.policy import KeyPurpose, RevocationMode, ValidationPolicy
from services.identity.domain.report import SignatureReport, ValidationData, ValidationReport
from services.identity.domain.trustlist import Jurisdiction
from services.identity.entrypoints.cli_inputs import InputError, certificates, read_file
from services.identity.service_layer.offline import bare_anchor_store, jurisdiction_of, scheme_policies
from services.identity.service_layer.trust_store import Refusal, TrustListStore
from services.identity.service_layer.validate_certificate import ValidateCertificate
from services.identity.service_layer.verify_pdf import VerifyPdfSignatures
from services.identity.service_layer.verify_signature import LongTerm, VerifyCmsSignature
from services.identity.service_layer.verify_timestamp import ArchiveStamp

_CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


@dataclass(frozen=True)
class Trust:
    """Where offline trust comes from: bare roots, or a directory of signed lists."""

    anchors: tuple[Path, ...] = ()
    trust_list_dir: Path | None = None
    signers: tuple[Path, ...] = ()


def list_signers(directory: Path, given: Sequence[Path]) -> list[bytes]:
    """Signer certificates: those given, else every certificate file lying in `directory`."""
    if given:
        return [item for path in given for item in certificates(path)]
    found: list[bytes] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in _CERT_SUFFIXES and path.is_file():
            try:
                found.extend(certificates(path))
            except InputError:
                continue  # a key or another non-certificate file beside the lists
    return found


def trust_list_store(directory: Path, signer_paths: Sequence[Path]) -> TrustListStore:
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of trust lists")
    documents = sorted(directory.glob("*.json"))
    if not documents:
        raise InputError(f"{directory}: no trust lists (*.json) in it")
    signers = list_signers(directory, signer_paths)
    store = list_store(dict.fromkeys(Jurisdiction, signers))
    for document in documents:
        result = store.load(read_file(document))
        if not result.accepted:
            hint = ""
            if result.refusal is Refusal.SIGNER_NOT_TRUSTED and not signers:
                hint = "; no signer certificate found beside the lists, give one with --signer"
            raise InputError(f"{document}: trust list refused: {result.refusal} ({result.detail}{hint})")
    return store


def anchor_store(anchor_paths: Sequence[Path], presented: Sequence[x509.Certificate]) -> TrustListStore:
    roots: list[x509.Certificate] = []
    for path in anchor_paths:
        for item in certificates(path):
            root = der.load_certificate(item, str(path))
            if jurisdiction_of(root) is None:
                raise InputError(
                    f"{path}: {root.subject.human_friendly} has no scheme jurisdiction (country not HK, MO or CN)"
                )
            roots.append(root)
    return bare_anchor_store(roots, scheme_policies([*presented, *roots]), X509Reader())


def service_trust() -> Trust:
    """The trust lists the identity service is configured with (BAYLINK_IDENTITY_TRUST_LISTS_DIR and
    _TRUSTED_LIST_SIGNERS); InputError when there are none."""
    from services.identity.config import IdentitySettings

    settings = IdentitySettings()
    if settings.trust_lists_dir is None:
        raise InputError("no trust given: --anchor ROOT.pem, --trust-list DIR, or BAYLINK_IDENTITY_TRUST_LISTS_DIR")
    signers = tuple(path for paths in settings.trusted_list_signers.values() for path in paths)
    return Trust(trust_list_dir=settings.trust_lists_dir, signers=signers)


def store_for(trust: Trust, presented: Sequence[x509.Certificate]) -> TrustListStore:
    if trust.trust_list_dir is not None:
        return trust_list_store(trust.trust_list_dir, trust.signers)
    return anchor_store(trust.anchors, presented)


def validate(
    trust: Trust,
    leaf: bytes,
    chain: Sequence[bytes],
    at: datetime | None,
    policy: ValidationPolicy,
) -> ValidationReport:
    presented = [der.load_certificate(item, "certificate") for item in (leaf, *chain)]
    store = store_for(trust, presented)
    command = ValidateCertificate(leaf, tuple(chain), at, policy)
    return asyncio.run(certificate_validator(store).handle(command))


def verify(
    trust: Trust,
    document: bytes,
    signature: bytes,
    chain: Sequence[bytes],
    policy: ValidationPolicy,
) -> SignatureReport:
    _, carried = der.load_signed_data(signature, "signature")
    presented = [*carried, *(der.load_certificate(item, "chain") for item in chain)]
    store = store_for(trust, presented)
    command = VerifyCmsSignature(signature, document=document, intermediates=tuple(chain), policy=policy)
    return asyncio.run(signature_verifier(certificate_validator(store)).verify_cms(command))


def verify_with_evidence(
    trust: Trust,
    document: bytes,
    signature: bytes,
    evidence: ValidationData,
    policy: ValidationPolicy,
    now: datetime | None = None,
    archive: Sequence[ArchiveStamp] = (),
) -> SignatureReport:
    """Verify as `verify` does, but with no network: revocation only from the evidence's OCSP
    responses and CRLs, its certificates to build the path; ``now`` stands in for the present.
    `archive`: the evidence's archive time-stamps (`archive_stamps`), oldest first."""
    _, carried = der.load_signed_data(signature, "signature")
    kept = [der.load_certificate(item, "evidence certificate") for item in evidence.certificates]
    store = store_for(trust, [*carried, *kept])
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    validator = certificate_validator(store, PkixEngine(evidence=evidence), clock)
    kept = LongTerm(bool(evidence.ocsp_responses or evidence.crls), tuple(archive))
    command = VerifyCmsSignature(
        signature, document=document, intermediates=evidence.certificates, policy=policy, long_term=kept
    )
    return asyncio.run(signature_verifier(validator, clock).verify_cms(command))


def archive_stamps(kept: EvidenceFiles) -> tuple[ArchiveStamp, ...]:
    """The evidence's archive tokens, each with the manifest it stamps (`baylink.evidence`)."""
    return tuple(ArchiveStamp(token, evidence_files.manifest(kept, n)) for n, token in enumerate(kept.archive))


def evidence_dict(
    trust: Trust, signature: Path, document: Path | None, directory: Path, chain: list[Path], policy_oids: list[str]
) -> dict[str, Any]:
    """`verify --offline-evidence DIR` as a report: the stored signature judged from DIR alone.
    Without --anchor or --trust-list, the identity service's configured lists are the trust."""
    from services.identity.entrypoints import cli_inputs as inputs
    from services.identity.entrypoints.cli_report import signature_dict

    try:
        kept = evidence_files.read(directory)
    except evidence_files.EvidenceError as exc:
        raise InputError(str(exc)) from None
    content = read_file(document) if document is not None else kept.document
    extra = tuple(inputs.certificates_of(chain))
    data = ValidationData((*kept.certificates, *extra), kept.ocsp_responses, kept.crls)
    if not trust.anchors and trust.trust_list_dir is None:
        trust = service_trust()
    rules = policy(None, inputs.policy_oids(policy_oids))
    signed = inputs.cms_signature(signature)
    return signature_dict(verify_with_evidence(trust, content, signed, data, rules, archive=archive_stamps(kept)))


def verify_pdf(trust: Trust, pdf: bytes, chain: Sequence[bytes], policy: ValidationPolicy) -> PdfReport:
    """Every signature of a signed PDF, trusting `trust` (bare anchors recognise the scheme
    policies of the certificates the signatures carry and of --chain, as for a CMS)."""
    presented = [der.load_certificate(item, "chain") for item in chain]
    for found in PyHankoPdfReader().read(pdf, "pdf").signatures:
        if found.kind is SignatureKind.SIGNATURE:
            presented.extend(der.load_signed_data(found.cms, "pdf")[1])
    store = store_for(trust, presented)
    verifier = pdf_verifier(signature_verifier(certificate_validator(store)))
    return asyncio.run(verifier.verify(VerifyPdfSignatures(pdf, tuple(chain), policy)))


def policy(
    revocation: str | None, requested: frozenset[str] | None, purpose: KeyPurpose = KeyPurpose.DOCUMENT_SIGNING
) -> ValidationPolicy:
    mode = RevocationMode(revocation) if revocation else RevocationMode.HARD_FAIL
    return ValidationPolicy(revocation_mode=mode, requested_policies=requested, key_purpose=purpose)
