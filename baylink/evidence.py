"""The files of a stored signature's evidence: what `baylink registry evidence` writes and
`baylink identity verify --offline-evidence` reads, to judge a signature again with no network.

One directory per signature::

    evidence.json        what it is (application, material, signer, times) and this format's name
    document             the signed material, byte for byte
    signature.p7s        the detached CMS as stored: with its signature-time-stamp token (CAdES B-T)
    timestamp.tst        that token alone (RFC 3161 TimeStampToken, DER)
    certificates/NN.cer  the signer's path, leaf first, anchor last (DER)
    ocsp/NN.ocsp         OCSP responses for the path (DER)
    crls/NN.crl          CRLs for the path (DER)
    archive/NN.tst       archive time-stamp tokens, oldest first (optional; `archive_imprint`)

An archive time-stamp (`baylink registry archive-stamp DIR`) is an RFC 3161 token over
`archive_imprint`: SHA-256 of the directory's manifest, one line ``NAME SHA256-HEX`` per file in
the order above (document, signature.p7s, timestamp.tst, each certificate, OCSP response and CRL,
then every earlier archive token). Token N thus proves that the signature, its time-stamp, its
validation data and tokens 1..N-1 existed at its genTime; each renewal covers all that came
before, as RFC 4998 renews an evidence record. Adding a token changes no other file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

FORMAT = "baylink-signature-evidence/1"
_PARTS = (("certificates", ".cer"), ("ocsp", ".ocsp"), ("crls", ".crl"))
_ARCHIVE = ("archive", ".tst")


class EvidenceError(ValueError):
    """A directory that is not signature evidence in this format."""


@dataclass(frozen=True)
class EvidenceFiles:
    document: bytes
    signature: bytes  # stamped CMS, DER
    timestamp: bytes  # the token, DER
    certificates: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    about: dict[str, str] = field(default_factory=dict)  # application_id, material_id, signer_ref, times …
    archive: tuple[bytes, ...] = ()  # archive time-stamp tokens (DER), oldest first

    @property
    def stamped_at(self) -> datetime | None:
        value = self.about.get("stamped_at")
        return datetime.fromisoformat(value) if value else None


def manifest(evidence: EvidenceFiles, archive_tokens: int | None = None) -> bytes:
    """The lines an archive time-stamp covers: every file, with the first `archive_tokens` archive
    tokens (all of them by default)."""
    named = [("document", evidence.document), ("signature.p7s", evidence.signature)]
    named.append(("timestamp.tst", evidence.timestamp))
    groups = (evidence.certificates, evidence.ocsp_responses, evidence.crls)
    for (name, suffix), items in zip((*_PARTS, _ARCHIVE), (*groups, evidence.archive[:archive_tokens]), strict=True):
        named.extend((f"{name}/{number:02d}{suffix}", item) for number, item in enumerate(items, 1))
    return "".join(f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in named).encode()


def archive_imprint(evidence: EvidenceFiles, archive_tokens: int | None = None) -> bytes:
    """What archive token number `archive_tokens` + 1 stamps: SHA-256 of `manifest`."""
    return hashlib.sha256(manifest(evidence, archive_tokens)).digest()


def with_archive_token(evidence: EvidenceFiles, token: bytes) -> EvidenceFiles:
    return replace(evidence, archive=(*evidence.archive, token))


def write(directory: Path, evidence: EvidenceFiles) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "evidence.json").write_text(
        json.dumps({"format": FORMAT, **evidence.about}, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    (directory / "document").write_bytes(evidence.document)
    (directory / "signature.p7s").write_bytes(evidence.signature)
    (directory / "timestamp.tst").write_bytes(evidence.timestamp)
    groups = (evidence.certificates, evidence.ocsp_responses, evidence.crls, evidence.archive)
    for (name, suffix), items in zip((*_PARTS, _ARCHIVE), groups, strict=True):
        if name == _ARCHIVE[0] and not items:
            continue
        (directory / name).mkdir(exist_ok=True)
        for number, item in enumerate(items, 1):
            (directory / name / f"{number:02d}{suffix}").write_bytes(item)


def read(directory: Path) -> EvidenceFiles:
    """EvidenceError naming what is missing or wrong."""
    try:
        about = json.loads((directory / "evidence.json").read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise EvidenceError(f"{directory}: no readable evidence.json ({error})") from None
    if not isinstance(about, dict) or about.get("format") != FORMAT:
        raise EvidenceError(f"{directory}/evidence.json: not {FORMAT}")
    try:
        parts = [
            tuple(p.read_bytes() for p in sorted((directory / name).glob(f"*{suffix}")))
            for name, suffix in (*_PARTS, _ARCHIVE)
        ]
        return EvidenceFiles(
            (directory / "document").read_bytes(),
            (directory / "signature.p7s").read_bytes(),
            (directory / "timestamp.tst").read_bytes(),
            *parts[:3],
            about={k: str(v) for k, v in about.items() if k != "format"},
            archive=parts[3],
        )
    except OSError as error:
        raise EvidenceError(f"{directory}: {error.strerror}: {error.filename}") from None
