"""Issuing Unified Social Credit Codes (GB 32100-2015) from a per-authority sequence.

Positions 9-17 are the GB 11714 organisation code: 8 body characters and their own check
character. The body is the authority's 3-character block followed by the sequence number in
base 31 over the USCC character set (5 characters), so codes of one authority never collide with
another's and consecutive sequence numbers give consecutive codes.
"""

from __future__ import annotations

from baylink.ids import USCC_CHARSET, build_uscc
from services.registry.domain.catalogue import Authority, SubjectCategory

MARKET_REGULATION = "9"  # registration-authority code of market regulation (工商)
SEQUENCE_DIGITS = 5
MAX_SEQUENCE = len(USCC_CHARSET) ** SEQUENCE_DIGITS - 1


def organisation_body(block: str, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} outside 1..{MAX_SEQUENCE}: the block is exhausted")
    digits = []
    n = sequence
    for _ in range(SEQUENCE_DIGITS):
        n, r = divmod(n, len(USCC_CHARSET))
        digits.append(USCC_CHARSET[r])
    return block + "".join(reversed(digits))


def issue_uscc(authority: Authority, category: SubjectCategory, sequence: int) -> str:
    """The code for the ``sequence``-th entity registered by ``authority``."""
    body = organisation_body(authority.uscc_block, sequence)
    return build_uscc(MARKET_REGULATION, category.value, authority.division_code, body)
