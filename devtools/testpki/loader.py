"""Read a built test PKI directory back: certificates, keys and manifest by entity name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from asn1crypto import pem, x509

from services.identity.adapters.keys import SigningKey
from services.identity.domain.trustlist import Jurisdiction

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "testpki"


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: str


class TestPKI:
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest: dict[str, Any] = json.loads((directory / "manifest.json").read_text("utf-8"))
        self._keys: dict[tuple[Path, int], SigningKey] = {}

    @property
    def base_url(self) -> str:
        return str(self.manifest["base_url"])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.manifest["entities"])

    def entity(self, name: str) -> dict[str, Any]:
        return dict(self.manifest["entities"][name])

    def cert(self, name: str) -> bytes:
        return self._certs[name]

    def cert_pem(self, name: str) -> bytes:
        return (self.directory / "certs" / f"{name}.pem").read_bytes()

    def certificate(self, name: str) -> x509.Certificate:
        return x509.Certificate.load(self._certs[name])

    def key(self, name: str) -> SigningKey:
        """The entity's private key, parsed once per version of its file (a test may write a new one)."""
        path = self.directory / "keys" / f"{name}.key.pem"
        version = (path, path.stat().st_mtime_ns)
        key = self._keys.get(version)
        if key is None:
            key = self._keys[version] = SigningKey.load_pem(path.read_bytes())
        return key

    def intermediates(self, name: str) -> list[bytes]:
        """Issuing CA certificates of `name` up to (not including) its root: what a signer supplies."""
        chain = []
        issuer = self.entity(name)["issuer"]
        while issuer is not None and self.entity(issuer)["role"] != "root":
            chain.append(self.cert(issuer))
            issuer = self.entity(issuer)["issuer"]
        return chain

    def authorities(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if self.entity(n)["role"] in ("root", "ca"))

    def issued_by(self, authority: str) -> dict[int, str]:
        return {int(e["serial"], 16): n for n, e in self.manifest["entities"].items() if e["issuer"] == authority}

    def revocations(self, authority: str) -> list[Revocation]:
        revoked = []
        for entry in self.manifest["entities"].values():
            if entry["issuer"] == authority and entry["revoked_at"]:
                moment = datetime.fromisoformat(entry["revoked_at"].replace("Z", "+00:00"))
                revoked.append(Revocation(int(entry["serial"], 16), moment, entry["revocation_reason"]))
        return revoked

    def responder_for(self, authority: str) -> str:
        return str(self.manifest["delegated_responders"].get(authority, authority))

    def trust_list_document(self, jurisdiction: Jurisdiction) -> bytes:
        return (self.directory / "trustlists" / f"{jurisdiction.value}.json").read_bytes()

    def list_signers(self) -> dict[Jurisdiction, list[bytes]]:
        return {j: [self.cert(f"tl-signer-{j.value.lower()}")] for j in Jurisdiction}

    @cached_property
    def _certs(self) -> dict[str, bytes]:
        return {name: _der(self.directory / "certs" / f"{name}.pem") for name in self.names}


def _der(path: Path) -> bytes:
    return bytes(pem.unarmor(path.read_bytes())[2])
