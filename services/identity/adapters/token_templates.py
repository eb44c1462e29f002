"""Templates of time-stamp tokens: a TSA's next tokens checked for what is new in each.

`timestamp_tokens.check_token` checks a token in full (the short way for a TSA seen before) and,
when it passed everything, lets `learn` keep its template; `check` answers for a later token of
the same TSA that matches one, exactly as `check_token` would (see `_TokenTemplate`).
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509

from services.identity.adapters import der, tst_info
from services.identity.adapters.algorithm_policy import today
from services.identity.adapters.cms_signer import SignerProfile, digest
from services.identity.adapters.cms_verify import ParsedCms
from services.identity.adapters.signed_attributes import digest_value_window
from services.identity.domain.report import Reason
from services.identity.service_layer.ports import TokenCheck


@dataclass(frozen=True)
class _TokenTemplate:
    """A token of a known TSA as bytes, for the next one of the same length, as `cms_verify`
    keeps signature templates. A TSA's tokens are identical but for the values that change with
    each: in the TSTInfo the message imprint, the serial number, the time and the nonce, in the
    signed attributes the message-digest of the TSTInfo, and the signature value. Each has a
    fixed place and length when every byte around it (tags and lengths included) is identical,
    and none of them frames anything: a token identical outside these windows decodes like the
    one the template was learnt from, which passed every check in full. Everything that depends
    only on the bytes outside the windows (the structure, the TSA certificate and its ESS binding
    and key purpose, the algorithms) is therefore as it was then; the catalogue's verdicts on the
    algorithms are the day's, so a template serves on the day it was learnt only (UTC, until
    `until`). What is left per token is what is inherent to it: the time read as `tst_info` reads
    it, the message-digest, the signature and the imprint. Anything else differs somewhere and
    takes the ordinary way. The prepared verify of the TSA's key (`SignerProfile.verifier`, which
    depends on the key's and the algorithm's bytes only) is kept with it, not looked up per token."""

    fixed: tuple[tuple[int, bytes], ...]  # (offset, bytes) of everything outside the windows
    info: tuple[int, int]  # (offset, end) of the TSTInfo DER, the content the message-digest covers
    attrs: tuple[int, int]  # (offset, end) of the signed attributes element ([0] IMPLICIT)
    message_digest: tuple[int, int]  # (offset, end) of the message-digest value
    imprint: tuple[int, int]  # (offset, end) of the hashedMessage
    time: tuple[int, int]  # (offset, end) of the genTime text
    signature_at: int  # where the signature value starts; it runs to the end
    profile: SignerProfile
    tsa: x509.Certificate
    imprint_hash: str
    until: float  # POSIX time of the UTC midnight that ends the day it was learnt on
    verify: Callable[[bytes, bytes], bool]  # the TSA key's prepared verify of (signature, data)


def check(token: bytes, imprint_data: bytes) -> TokenCheck | None:
    """The check of a token that matches a template (see `_TokenTemplate`), else None."""
    if type(token) is not bytes:
        return None
    for template in _TEMPLATES.get(len(token), ()):
        for at, part in template.fixed:
            if not token.startswith(part, at):
                break
        else:
            return _check_by_template(template, token, imprint_data)
    return None


def _check_by_template(template: _TokenTemplate, token: bytes, imprint_data: bytes) -> TokenCheck | None:
    if time.time() >= template.until:
        return None  # another day: judged again the ordinary way, and learnt again
    gen_time = tst_info.generalized_time(token[template.time[0] : template.time[1]])
    if gen_time is None:
        return None  # not the usual form: the ordinary way reads it or says why not
    profile = template.profile
    hash_name = profile.hash_name
    assert hash_name is not None
    # The checks of `check_token` that depend on the windows, in its order and with its answers.
    failure, detail = None, ""
    info_at, info_end = template.info
    digest_at, digest_end = template.message_digest
    attrs_at, attrs_end = template.attrs
    imprint_hash = template.imprint_hash
    imprint_at, imprint_end = template.imprint
    if token[digest_at:digest_end] != digest(hash_name, token[info_at:info_end]):
        failure, detail = Reason.TIMESTAMP_INVALID, "message-digest differs from the document's digest"
    elif not template.verify(token[template.signature_at :], b"\x31" + token[attrs_at + 1 : attrs_end]):
        failure, detail = Reason.TIMESTAMP_INVALID, Reason.SIGNATURE_INVALID.value
    elif not hmac.compare_digest(token[imprint_at:imprint_end], digest(imprint_hash, imprint_data)):
        failure, detail = Reason.TIMESTAMP_IMPRINT_MISMATCH, f"the {imprint_hash} message imprint does not match"
    return TokenCheck(template.tsa, profile.certificates, gen_time, failure, detail, hash_name)


def learn(token: bytes, parsed: ParsedCms, info_der: bytes, imprint_hash: str) -> None:
    """Keep a template of `token`, which passed every check of `check_token`, if it has the usual
    shape: read the short way (`timestamp_tokens._read_token`), its TSA certificate carried in it, no unsigned
    attributes, a TSTInfo and signed attributes whose changing values `tst_info.windows` and
    `signed_attributes.digest_window` find."""
    parts, profile = parsed.parts, parsed.profile
    if type(token) is not bytes or parts is None or profile is None or profile.carried_signer is None:
        return
    if parts.unsigned_attrs or not parts.repeated or profile.hash_name is None:
        return
    info_windows = tst_info.windows(info_der)
    digest_window = digest_value_window(parts.signed_attrs_as_set)
    if info_windows is None or digest_window is None:
        return
    try:
        _, start, end = der.element(token, 0, len(token))
        _, inner_at, inner_end = der.element(token, start + 11, end)
        _, sd_at, sd_end = der.element(token, inner_at, inner_end)
        encap = der.children(token, sd_at, sd_end)[2]
    except (ValueError, IndexError):
        return
    span = tst_info.encapsulated_span(token[encap[1] : encap[2]])
    if span is None or token[encap[1] + span[0] : encap[1] + span[1]] != info_der:
        return
    info_at = encap[1] + span[0]
    signature_at = len(token) - len(parts.signature)
    octet_header = 2 if len(parts.signature) < 0x80 else 2 + (len(parts.signature).bit_length() + 7) // 8
    attrs_end = signature_at - octet_header - len(parts.repeated[7])  # the signature algorithm between
    attrs_at = attrs_end - len(parts.signed_attrs)
    if token[attrs_at:attrs_end] != parts.signed_attrs or token[signature_at:] != parts.signature:
        return
    imprint, serial, time_window, nonce = (
        (info_at + a, info_at + b) if (a, b) != (0, 0) else None for a, b in info_windows
    )
    assert imprint is not None and serial is not None and time_window is not None
    message_digest = (attrs_at + digest_window[0], attrs_at + digest_window[1])
    windows = sorted(
        w for w in (message_digest, imprint, serial, time_window, nonce, (signature_at, len(token))) if w is not None
    )
    fixed, at = [], 0
    for window_at, window_end in windows:
        fixed.append((at, token[at:window_at]))
        at = window_end
    tsa, day = profile.carried_signer, today()
    until = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    template = _TokenTemplate(
        tuple(fixed),
        (info_at, info_at + len(info_der)),
        (attrs_at, attrs_end),
        message_digest,
        imprint,
        time_window,
        signature_at,
        profile,
        tsa,
        imprint_hash,
        until.timestamp(),
        profile.verifier(tsa, profile.hash_name),
    )
    same_length = _TEMPLATES.setdefault(len(token), [])
    same_length.insert(0, template)
    del same_length[_TEMPLATES_PER_LENGTH:]
    _TEMPLATES.move_to_end(len(token))
    while len(_TEMPLATES) > _TEMPLATES_MAX:
        _TEMPLATES.popitem(last=False)


# Token templates by token length, the most recently learnt first (a TSA's tokens differ in length
# by a byte or two, with the signature value and the serial number).
_TEMPLATES: OrderedDict[int, list[_TokenTemplate]] = OrderedDict()
_TEMPLATES_MAX = 256
_TEMPLATES_PER_LENGTH = 4
