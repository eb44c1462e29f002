"""Baylink's identifier kernel: parse, normalise and validate HK, Macau and mainland identifiers.

Pure Python, standard library only. Every check returns an :class:`IdResult` and never raises on
bad input; only the code-computing helpers (``*_check_char``, ``build_uscc``) raise
``ValueError`` when handed malformed parts.
"""

from baylink.ids.detect import check, detect, is_valid, normalise
from baylink.ids.gb11643 import check_mainland_id, check_residence_permit, gb11643_check_char
from baylink.ids.hk_br import check_hk_br
from baylink.ids.hkid import check_hkid, hkid_check_char
from baylink.ids.macau_id import check_macau_id
from baylink.ids.model import IdResult, Kind, Reason
from baylink.ids.travel_permit import check_travel_permit
from baylink.ids.uscc import CHARSET as USCC_CHARSET
from baylink.ids.uscc import build_uscc, check_uscc, gb11714_check_char, uscc_check_char

__all__ = [
    "USCC_CHARSET",
    "IdResult",
    "Kind",
    "Reason",
    "build_uscc",
    "check",
    "check_hk_br",
    "check_hkid",
    "check_macau_id",
    "check_mainland_id",
    "check_residence_permit",
    "check_travel_permit",
    "check_uscc",
    "detect",
    "gb11643_check_char",
    "gb11714_check_char",
    "hkid_check_char",
    "is_valid",
    "normalise",
    "uscc_check_char",
]
