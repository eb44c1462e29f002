"""Keyed hashes (HMAC-SHA256): partner-city pseudonyms and the binding store's blind indexes.

Two keys, never the same: the pseudonym key makes what cities see; the lookup key makes the
indexes the store searches. A leaked database holds only lookup digests, which without the
lookup key cannot be matched to document numbers, certificates or any city's pseudonyms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from services.gateway.shared.adapters.crypto_keys import MIN_HMAC_KEY_BYTES

_CITY = re.compile(r"[0-9]{6}", re.ASCII)
_SEPARATOR = b"\x00"


def _check_key(key: bytes, what: str) -> bytes:
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ValueError(f"the {what} key must be at least {MIN_HMAC_KEY_BYTES} bytes, got {len(key)}")
    return bytes(key)


class Pseudonymiser:
    """pseudonym(city, subject) = base32(HMAC-SHA256(key, city ‖ 0x00 ‖ subject)), lower case, unpadded.

    Deterministic, so a person keeps the same pseudonym in a city for as long as the key and the
    subject stay; different per city, and without the key no one can tell whether two cities'
    pseudonyms belong to one person.
    """

    def __init__(self, key: bytes):
        self._key = _check_key(key, "pseudonym")

    def pseudonym(self, city_code: str, subject_number: str) -> str:
        if _CITY.fullmatch(city_code) is None:
            raise ValueError("a city code is a 6-digit division code")
        message = city_code.encode("ascii") + _SEPARATOR + subject_number.encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii").rstrip("=").lower()

    def __call__(self, city_code: str, subject_number: str) -> str:
        return self.pseudonym(city_code, subject_number)


class LookupHasher:
    """Blind-index digests: HMAC-SHA256(key, purpose ‖ 0x00 ‖ value), 32 bytes.

    ``purpose`` separates the indexes (``"hkid"``, ``"certificate"``, ``"pseudonym:440300"``…)
    so one value never gives the same digest in two of them.
    """

    def __init__(self, key: bytes):
        self._key = _check_key(key, "lookup")

    def digest(self, purpose: str, value: str) -> bytes:
        message = purpose.encode("ascii") + _SEPARATOR + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()
