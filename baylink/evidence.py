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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

FORMAT = "baylink-signature-evidence/1"
_PARTS = (("certificates", ".cer"), ("ocsp", ".ocsp"), ("crls", ".crl"))


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

    @property
    def stamped_at(self) -> datetime | None:
        value = self.about.get("stamped_at")
        return datetime.fromisoformat(value) if value else None


def write(directory: Path, evidence: EvidenceFiles) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "evidence.json").write_text(
        json.dumps({"format": FORMAT, **evidence.about}, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    (directory / "document").write_bytes(evidence.document)
    (directory / "signature.p7s").write_bytes(evidence.signature)
    (directory / "timestamp.tst").write_bytes(evidence.timestamp)
    for (name, suffix), items in zip(
        _PARTS, (evidence.certificates, evidence.ocsp_responses, evidence.crls), strict=True
    ):
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
            tuple(p.read_bytes() for p in sorted((directory / name).glob(f"*{suffix}"))) for name, suffix in _PARTS
        ]
        return EvidenceFiles(
            (directory / "document").read_bytes(),
            (directory / "signature.p7s").read_bytes(),
            (directory / "timestamp.tst").read_bytes(),
            *parts,
            about={k: str(v) for k, v in about.items() if k != "format"},
        )
    except OSError as error:
        raise EvidenceError(f"{directory}: {error.strerror}: {error.filename}") from None
