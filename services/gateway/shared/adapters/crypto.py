"""AES-256-GCM for personal data at rest, with key ids so keys can rotate.

A sealed value is ``0x01 ‖ len(key id) ‖ key id ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag``.
The header and a caller-given *context* (table, column and row: see ``binding/adapters/records``) are
authenticated as associated data, so a ciphertext copied to another row or column, cut short,
altered in one bit or relabelled with another key id fails to open instead of yielding another
person's data.

Rotation: the cipher seals with its *current* key and opens with any key it holds; rows sealed
under an older key keep opening as long as that key stays in the ring, and can be re-sealed
under the current one (``BindingService.reseal_stale``) before the old key is retired.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.gateway.shared.adapters.crypto_keys import read_key_file

FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", re.ASCII)


class CiphertextRejected(Exception):
    """A stored ciphertext cannot be opened: altered, truncated, moved to another row or column,
    or sealed under a key this process does not hold. The message names the context and key id,
    never the data."""


class FieldCipher:
    """Seals and opens short values (document numbers, names, dates) with AES-256-GCM."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str):
        if current_key_id not in keys:
            raise ValueError(f"current key id {current_key_id!r} is not among the keys given")
        for key_id, key in keys.items():
            if KEY_ID.fullmatch(key_id) is None:
                raise ValueError(f"key id {key_id!r} must be 1-32 characters of letters, digits, '.', '_' or '-'")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes for AES-256, got {len(key)}")
        self._keys = {key_id: AESGCM(bytes(key)) for key_id, key in keys.items()}
        self.current_key_id = current_key_id

    @classmethod
    def from_key_files(cls, current: Path, previous: Sequence[Path] = ()) -> FieldCipher:
        """A cipher from key files (see ``crypto_keys``); each key's id is its file name without suffix."""
        paths = [Path(current), *(Path(p) for p in previous)]
        keys = {path.stem: read_key_file(path, length=KEY_BYTES) for path in paths}
        if len(keys) != len(paths):
            raise ValueError("two key files have the same name, so their key ids would clash")
        return cls(keys, Path(current).stem)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt under the current key, bound to ``context``."""
        key_id = self.current_key_id.encode("ascii")
        header = bytes([FORMAT_VERSION, len(key_id)]) + key_id
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond this table's row count
        return header + nonce + self._keys[self.current_key_id].encrypt(nonce, plaintext, header + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt a value sealed for ``context``; ``CiphertextRejected`` if it does not authenticate."""
        key_id, header = self._header(sealed, context)
        body = sealed[len(header) :]
        if len(body) < NONCE_BYTES + TAG_BYTES:
            raise CiphertextRejected(f"ciphertext for {_label(context)} is truncated")
        aead = self._keys.get(key_id)
        if aead is None:
            raise CiphertextRejected(f"ciphertext for {_label(context)} is sealed under unknown key id {key_id!r}")
        try:
            return aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header + context)
        except InvalidTag:
            raise CiphertextRejected(
                f"ciphertext for {_label(context)} failed authentication under key id {key_id!r}: "
                "it was altered, moved from another row or column, or sealed with a different key"
            ) from None

    def key_id_of(self, sealed: bytes) -> str:
        """The key id a value was sealed under (read from its header, not verified)."""
        return self._header(sealed, b"")[0]

    def seal_text(self, text: str, context: bytes) -> bytes:
        return self.seal(text.encode("utf-8"), context)

    def open_text(self, sealed: bytes, context: bytes) -> str:
        return self.open(sealed, context).decode("utf-8")

    def _header(self, sealed: bytes, context: bytes) -> tuple[str, bytes]:
        if not isinstance(sealed, bytes | bytearray | memoryview) or len(sealed) < 2:
            raise CiphertextRejected(f"ciphertext for {_label(context)} is empty or not bytes")
        sealed = bytes(sealed)
        if sealed[0] != FORMAT_VERSION:
            raise CiphertextRejected(f"ciphertext for {_label(context)} has unknown format version {sealed[0]}")
        end = 2 + sealed[1]
        try:
            key_id = sealed[2:end].decode("ascii")
        except UnicodeDecodeError:
            key_id = ""
        if len(sealed) < end or KEY_ID.fullmatch(key_id) is None:
            raise CiphertextRejected(f"ciphertext for {_label(context)} has a malformed key id")
        return key_id, sealed[:end]


def _label(context: bytes) -> str:
    # Contexts are ASCII labels of table, column and surrogate row id: never personal data.
    return context.decode("ascii", "replace") or "(no context)"
