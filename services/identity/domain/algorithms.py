"""The algorithm catalogue: which hash functions and key types identity relies on, and until when.

One table, dated like the catalogue of ETSI TS 119 312: every signature identity verifies (chain
certificates, CRLs, OCSP answers, CMS and raw signatures, trust lists) is judged by
`algorithm_refusal` against it, and a refusal is the EN 319 102-1 sub-indication
CRYPTO_CONSTRAINTS_FAILURE. Anything not in the table is refused: a new algorithm is accepted by
adding a row here, not by a check somewhere else.

Dates are the last day an algorithm may be relied on. Without a proof of existence (no timestamp)
a signature can only be judged at the time of verification, so callers pass today's date, never
a caller-chosen validation time: an old claimed time cannot bring a broken algorithm back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final


class Use:
    """What an algorithm is used for. Plain strings, not an Enum: they are half of the key of
    every catalogue lookup, and an Enum member hashes through a Python-level call."""

    DIGEST: Final = "digest"  # the hash function a signature is computed over
    KEY: Final = "key"  # the public-key algorithm (for EC, the curve) that verifies it


@dataclass(frozen=True)
class AlgorithmEntry:
    allowed_until: date | None = None  # None: no end date is foreseen yet
    min_key_bits: int = 0  # for key types whose strength grows with the size (RSA)


# Revised as the catalogue is: a new edition adds a row or a date, the code stays as it is.
CATALOGUE_EDITION = date(2026, 12, 1)
CATALOGUE: dict[tuple[str, str], AlgorithmEntry] = {
    # Hash functions. MD5 and SHA-1 end where practical collisions made them unfit for signatures
    # (MD5: 2004; SHA-1: the SHAttered collision of early 2017).
    (Use.DIGEST, "md5"): AlgorithmEntry(allowed_until=date(2004, 12, 31)),
    (Use.DIGEST, "sha1"): AlgorithmEntry(allowed_until=date(2016, 12, 31)),
    (Use.DIGEST, "sha256"): AlgorithmEntry(),
    (Use.DIGEST, "sha384"): AlgorithmEntry(),
    (Use.DIGEST, "sha512"): AlgorithmEntry(),
    (Use.DIGEST, "sha3_256"): AlgorithmEntry(),
    (Use.DIGEST, "sha3_384"): AlgorithmEntry(),
    (Use.DIGEST, "sha3_512"): AlgorithmEntry(),
    (Use.DIGEST, "sm3"): AlgorithmEntry(),
    # Public-key algorithms; elliptic curves by name, each a fixed strength.
    (Use.KEY, "rsa"): AlgorithmEntry(min_key_bits=2048),
    (Use.KEY, "secp256r1"): AlgorithmEntry(),
    (Use.KEY, "secp384r1"): AlgorithmEntry(),
    (Use.KEY, "secp521r1"): AlgorithmEntry(),
    (Use.KEY, "brainpoolp256r1"): AlgorithmEntry(),
    (Use.KEY, "brainpoolp384r1"): AlgorithmEntry(),
    (Use.KEY, "brainpoolp512r1"): AlgorithmEntry(),
    (Use.KEY, "sm2"): AlgorithmEntry(),
    (Use.KEY, "ed25519"): AlgorithmEntry(),
    (Use.KEY, "ed448"): AlgorithmEntry(),
}


def algorithm_refusal(use: str, name: str, on: date, key_bits: int | None = None) -> str | None:
    """Why `name` may not be relied on for `use` on day `on`; None when it may (one dict lookup)."""
    entry = CATALOGUE.get((use, name))
    if entry is None:
        return f"{use} algorithm {name} is not in the algorithm catalogue"
    if entry.allowed_until is not None and on > entry.allowed_until:
        return f"{name} is not accepted after {entry.allowed_until.isoformat()}"
    if key_bits is not None and key_bits < entry.min_key_bits:
        return f"{name} keys of {key_bits} bits are below the minimum of {entry.min_key_bits}"
    return None


def signature_refusal(digest: str | None, key: str, key_bits: int | None, on: date) -> str | None:
    """`algorithm_refusal` for one signature: its hash (None when the scheme hashes intrinsically,
    as Ed25519 does) and its key. The first reason found, or None."""
    if digest is not None:
        refused = algorithm_refusal(Use.DIGEST, digest, on)
        if refused is not None:
            return refused
    return algorithm_refusal(Use.KEY, key, on, key_bits)
