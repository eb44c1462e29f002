"""Unified Social Credit Codes (统一社会信用代码), GB 32100-2015.

Eighteen characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z):

=========  ==========================================================================
position   meaning
=========  ==========================================================================
1          registration-authority code (登记管理部门码)
2          category code (机构类别码), valid only in combination with position 1
3-8        administrative division code of the registering authority (GB/T 2260)
9-17       organisation code (GB 11714): 8 body characters + its own check character
18         check character of the whole code (ISO 7064 style, mod 31)
=========  ==========================================================================

GB 11714 check: values 0-9 and A-Z = 10-35, weights 3, 7, 9, 10, 5, 8, 4, 2, check
``11 - (sum mod 11)`` with 10 written ``X`` and 11 written ``0``.

Outer check: values are indices in the charset, weights ``3**i mod 31`` for i = 0..16, check
``31 - (sum mod 31)`` with 31 written ``0``, mapped back through the charset.

A failed inner check and a failed outer check are different reasons
(``organisation_code_check_mismatch`` vs ``uscc_check_mismatch``); the inner one is reported
first because it pins the error to positions 9-17.
"""

from __future__ import annotations

from baylink.ids.model import IdResult, Kind, Reason, fail, ok
from baylink.ids.text import DIGITS, LETTERS, first_outside, prepare

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_OUTER_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_INNER_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ALNUM = DIGITS + LETTERS

AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": (
        "机构编制 (institutional staffing)",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": ("外交 (foreign affairs)", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政 (judicial administration)",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化 (culture)", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政 (civil affairs)", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游 (tourism)",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": ("宗教 (religious affairs)", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会 (trade unions)", {"1": "基层工会", "9": "其他"}),
    "9": ("工商 (industry and commerce)", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室 (military staffing)", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业 (agriculture)",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他 (other)", {"1": "其他"}),
}
"""Registration authority → (name, {category code: category}). Authorities 1, 5, 9 and Y are
those of GB 32100-2015 itself; the others were added to the code table later."""


def gb11714_check_char(body8: str) -> str:
    """The GB 11714 organisation-code check character for 8 body characters (0-9, A-Z).

    Raises ``ValueError`` on malformed input.
    """
    if len(body8) != 8 or any(ch not in _ALNUM for ch in body8):
        raise ValueError(f"organisation code body must be 8 characters 0-9/A-Z, got {body8!r}")
    total = sum(_ALNUM.index(ch) * w for ch, w in zip(body8, _INNER_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "X"
    return str(check)


def uscc_check_char(first17: str) -> str:
    """The position-18 check character for the first 17 characters. Raises ``ValueError``."""
    if len(first17) != 17 or any(ch not in CHARSET for ch in first17):
        raise ValueError(f"USCC body must be 17 characters from {CHARSET}, got {first17!r}")
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, _OUTER_WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _combination_error(authority: str, category: str) -> tuple[Reason, str] | None:
    if authority not in AUTHORITIES:
        known = ", ".join(AUTHORITIES)
        return (
            Reason.UNKNOWN_REGISTRATION_AUTHORITY,
            f"registration authority {authority!r} is not one of {known}",
        )
    name, categories = AUTHORITIES[authority]
    if category not in categories:
        allowed = ", ".join(categories)
        return (
            Reason.INVALID_CATEGORY_FOR_AUTHORITY,
            f"category {category!r} is not defined for authority {authority} ({name}); expected one of {allowed}",
        )
    return None


def build_uscc(authority: str, category: str, division: str, body8: str) -> str:
    """Assemble a USCC: computes the organisation-code check and the outer check.

    Raises ``ValueError`` when a part is invalid (unknown authority/category combination,
    division not 6 digits, body not 8 characters of the USCC charset).
    """
    error = _combination_error(authority, category)
    if error is not None:
        raise ValueError(error[1])
    if len(division) != 6 or any(ch not in DIGITS for ch in division):
        raise ValueError(f"division code must be 6 digits, got {division!r}")
    if len(body8) != 8 or any(ch not in CHARSET for ch in body8):
        raise ValueError(f"organisation code body must be 8 characters from {CHARSET}, got {body8!r}")
    first17 = authority + category + division + body8 + gb11714_check_char(body8)
    return first17 + uscc_check_char(first17)


def check_clean(text: str) -> IdResult:
    """Check already-cleaned text as a USCC."""
    bad = first_outside(text, CHARSET)
    if bad is not None:
        return fail(
            Kind.USCC,
            Reason.INVALID_CHARACTER,
            f"character {bad[1]!r} at position {bad[0]} is not in the USCC charset (no I, O, S, V, Z)",
        )
    if len(text) != 18:
        return fail(Kind.USCC, Reason.INVALID_LENGTH, f"expected 18 characters, got {len(text)}")
    authority, category, division = text[0], text[1], text[2:8]
    org_code = text[8:17]
    details = {"authority": authority, "category": category, "division": division}
    error = _combination_error(authority, category)
    if error is not None:
        return fail(Kind.USCC, error[0], error[1], normalised=text, details=details)
    if any(ch not in DIGITS for ch in division):
        return fail(
            Kind.USCC,
            Reason.INVALID_DIVISION_CODE,
            f"administrative division code {division} (positions 3-8) must be 6 digits",
            normalised=text,
            details=details,
        )
    details["organisation_code"] = f"{org_code[:8]}-{org_code[8]}"
    inner = gb11714_check_char(org_code[:8])
    if org_code[8] != inner:
        return fail(
            Kind.USCC,
            Reason.ORGANISATION_CODE_CHECK_MISMATCH,
            f"organisation code (GB 11714) check character at position 17 is {org_code[8]}, expected {inner}",
            normalised=text,
            details=details,
        )
    outer = uscc_check_char(text[:17])
    if text[17] != outer:
        return fail(
            Kind.USCC,
            Reason.USCC_CHECK_MISMATCH,
            f"check character at position 18 is {text[17]}, expected {outer}",
            normalised=text,
            details=details,
        )
    return ok(Kind.USCC, text, "valid unified social credit code", check_verified=True, details=details)


def is_fully_valid(text: str) -> bool:
    """True when cleaned text passes every USCC rule (used to resolve ambiguous shapes)."""
    return check_clean(text).valid


def check_uscc(value: str) -> IdResult:
    """Parse and validate a Unified Social Credit Code. Never raises."""
    text = prepare(value, Kind.USCC)
    return text if isinstance(text, IdResult) else check_clean(text)
