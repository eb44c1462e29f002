"""The auditor's trusted audit public keys: pinned in a directory of their own.

A verifier that reads the public key beside the private key trusts whoever can write that
directory: the gateway, or an intruder on its host, could make a new key, re-sign a rewritten log
and put the new public key in place. So the keys that ``baylink audit verify`` trusts live in a
separate directory (``BAYLINK_GATEWAY_AUDIT_TRUSTED_KEYS_DIR``, default ``.local/trust/audit``),
which may not be, contain or lie inside the signing key's directory; in production it is a
read-only mount or owned by the audit team. ``baylink audit trust-key`` pins a key there as
``<key id>.pub``; several files mean rotated keys, each trusted for the checkpoints it signed.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baylink.runtime.settings import LOCAL_DIR
from services.gateway.audit.adapters.keys import key_id_of, load_public_key

DEFAULT_TRUSTED_AUDIT_KEYS = LOCAL_DIR / "trust" / "audit"


def writable_by_the_signer(path: Path, signing_key: Path) -> bool:
    """Whether ``path`` is in (or is, or contains) the directory of the signing key."""
    key_dir = signing_key.resolve().parent
    where = path.resolve()
    return where == key_dir or key_dir in where.parents or where in key_dir.parents


def check_trust_dir(trust_dir: Path, signing_key: Path) -> Path:
    """``trust_dir`` if it is apart from the signing key's directory; ValueError otherwise."""
    if writable_by_the_signer(trust_dir, signing_key):
        raise ValueError(
            f"the trusted audit keys ({trust_dir}) must be kept apart from the signing key's directory "
            f"({signing_key.parent}): whoever writes one could replace the other"
        )
    return trust_dir


def trusted_key_files(trust_dir: Path) -> list[Path]:
    """The pinned public keys (``*.pub``), in name order; none if the directory is missing."""
    return sorted(trust_dir.glob("*.pub")) if trust_dir.is_dir() else []


def trusted_public_keys(trust_dir: Path) -> list[Ed25519PublicKey]:
    """The pinned keys themselves (ValueError if a file is not an Ed25519 public key)."""
    return [load_public_key(path) for path in trusted_key_files(trust_dir)]


def pin_public_key(public_key: Path, trust_dir: Path) -> Path:
    """Copy ``public_key`` into ``trust_dir`` as ``<key id>.pub`` (an existing pin is kept as it is)."""
    key = load_public_key(public_key)
    pinned = trust_dir / f"{key_id_of(key)}.pub"
    if not pinned.exists():
        trust_dir.mkdir(parents=True, exist_ok=True)
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        pinned.write_bytes(pem)
    return pinned
