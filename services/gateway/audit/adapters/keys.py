"""The gateway's audit signing key (Ed25519): made once, kept in a file, public half beside it.

The private key signs checkpoints and the chain head; only the gateway reads it (file mode 0600).
The public key beside it (``<key file>.pub``) is only for copying: the verifier trusts the copies
pinned apart from it (``trust.py``), since whoever can replace the private key can replace this too.
The key id is the first 16 hex digits of SHA-256 over the raw public key, so checkpoints say
which key signed them and keys can be rotated.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from baylink.runtime.settings import LOCAL_DIR

DEFAULT_AUDIT_KEY = LOCAL_DIR / "gateway" / "audit-signing-key.pem"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_path(private_key_path: Path) -> Path:
    return private_key_path.with_name(private_key_path.name + ".pub")


class Ed25519Signer:
    """Signs with the audit key; recognises its own signatures and those of ``previous`` keys (rotation)."""

    def __init__(self, private_key: Ed25519PrivateKey, previous: Iterable[Ed25519PublicKey] = ()):
        self._key = private_key
        self.public_key = private_key.public_key()
        self._key_id = key_id_of(self.public_key)
        self._recognised = Ed25519Verifier([self.public_key, *previous])

    def accepting(self, previous: Iterable[Ed25519PublicKey]) -> Ed25519Signer:
        """This signer, also recognising signatures of ``previous`` keys (e.g. the auditor's pinned ones)."""
        return Ed25519Signer(self._key, [*self._recognised.keys.values(), *previous])

    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        return self._recognised.verify(key_id, message, signature)

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Ed25519Verifier:
    """Trusts the given public keys, by key id."""

    def __init__(self, public_keys: Iterable[Ed25519PublicKey]):
        self.keys = {key_id_of(k): k for k in public_keys}

    @classmethod
    def from_pem_files(cls, paths: Iterable[Path]) -> Ed25519Verifier:
        return cls([load_public_key(path) for path in paths])

    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        key = self.keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; ValueError for anything else."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def load_or_create_signing_key(path: Path = DEFAULT_AUDIT_KEY) -> Ed25519Signer:
    """The key in ``path`` (PKCS#8 PEM), made there first if missing, with its public half beside it."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        signer = Ed25519Signer(key)
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(path, pem)
        signer = Ed25519Signer(key)
    public = public_key_path(path)
    if not public.exists():
        public.write_bytes(signer.public_pem())
    return signer


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only (never world-readable, not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


class UnsignedHeadsMarker:
    """``UnsignedHeads`` as a file beside the signing key (``<key>.heads-signed``): absent until the
    gateway first signs a head, so a database from before signed heads is adopted once, on upgrade."""

    def __init__(self, signing_key: Path):
        self.path = signing_key.with_name(signing_key.name + ".heads-signed")

    def may_adopt(self) -> bool:
        return not self.path.exists()

    def close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)
