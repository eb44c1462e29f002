"""Console users and their passwords as scrypt hashes (hashlib): what a stored hash is and how a
password is checked against it.

A stored hash carries its own parameters and salt: ``scrypt$n=<N>,r=<r>,p=<p>$<salt, base64>$<key,
base64>``, so they can be raised later without invalidating old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "operator"]
ROLES: tuple[Role, ...] = ("viewer", "operator")
N, R, P, KEY_BYTES, SALT_BYTES = 2**15, 8, 1, 32, 16


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: Role
    password_hash: str


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    memory = 128 * r * n * 2 + 1024 * 1024  # what scrypt needs, with room
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=KEY_BYTES)


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of ``password`` in the stored format."""
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    b64 = base64.b64encode
    return f"scrypt$n={n},r={r},p={p}${b64(salt).decode()}${b64(key).decode()}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, key) of a stored hash; ValueError saying what is wrong."""
    scheme, _, rest = stored.partition("$")
    params, _, rest = rest.partition("$")
    salt_text, _, key_text = rest.partition("$")
    if scheme != "scrypt" or not salt_text or not key_text:
        raise ValueError("not a scrypt hash (scrypt$n=…,r=…,p=…$salt$key)")
    try:
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        salt, key = base64.b64decode(salt_text, validate=True), base64.b64decode(key_text, validate=True)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed scrypt hash: {exc}") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n > 2**20:
        raise ValueError("scrypt parameters out of range")
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (compared in constant time)."""
    n, r, p, salt, key = parse_hash(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), key)
