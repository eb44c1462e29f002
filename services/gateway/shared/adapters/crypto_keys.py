"""Key files: one key per file, base64 text on one line, owner-readable only.

The binding store needs three kinds of key, all separate:

- number keys (AES-256, one file per key id, the file name without suffix is the id):
  ``numbers-<id>.key``; the newest seals, older ones only open;
- the pseudonym key (HMAC-SHA256), fixed for the life of the deployment: changing it changes
  every pseudonym every partner city holds;
- the lookup key (HMAC-SHA256) for the blind indexes of document numbers, certificate
  fingerprints and issued pseudonyms; changing it needs the indexes rebuilt.

``create_development_keys`` makes a set under ``.local/gateway/keys`` for ``make up`` and tests.
Production keys come from a secret store, mounted as files.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEVELOPMENT_KEY_DIR = Path(".local") / "gateway" / "keys"
MIN_HMAC_KEY_BYTES = 32


class KeyFileError(ValueError):
    """A key file is missing, unreadable or does not hold a key of the right size."""


def read_key_file(path: Path, *, length: int | None = None, min_length: int = MIN_HMAC_KEY_BYTES) -> bytes:
    """The key in ``path``: exactly ``length`` bytes when given, else at least ``min_length``."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
        key = base64.b64decode(text, validate=True)
    except (OSError, UnicodeDecodeError, binascii.Error) as exc:
        raise KeyFileError(f"cannot read a base64 key from {path}: {type(exc).__name__}") from None
    if length is not None and len(key) != length:
        raise KeyFileError(f"key file {path} holds {len(key)} bytes, expected {length}")
    if len(key) < min_length:
        raise KeyFileError(f"key file {path} holds {len(key)} bytes, expected at least {min_length}")
    return key


def write_key_file(path: Path, key: bytes) -> Path:
    """Write ``key`` to a new file readable by its owner only; never overwrites an existing file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(base64.b64encode(key).decode("ascii") + "\n")
    return path


def new_key_file(path: Path, size: int = 32) -> Path:
    """A new random key in ``path`` (``FileExistsError`` if the file exists)."""
    return write_key_file(path, secrets.token_bytes(size))


@dataclass(frozen=True)
class BindingKeyFiles:
    """Where the binding store's keys are: the current number key, older number keys, the HMAC keys."""

    number_key: Path
    pseudonym_key: Path
    lookup_key: Path
    previous_number_keys: tuple[Path, ...] = ()


def create_development_keys(directory: Path = DEVELOPMENT_KEY_DIR, number_key_id: str = "numbers-1") -> BindingKeyFiles:
    """Create whichever of the development keys are missing under ``directory``; keep existing ones.

    Calling it again returns the same files, so a developer's data stays readable across runs.
    """
    directory = Path(directory)
    files = BindingKeyFiles(
        number_key=directory / f"{number_key_id}.key",
        pseudonym_key=directory / "pseudonym.key",
        lookup_key=directory / "lookup.key",
    )
    for path in (files.number_key, files.pseudonym_key, files.lookup_key):
        if not path.exists():
            new_key_file(path)
    return files
