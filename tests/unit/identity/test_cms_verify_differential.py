"""cms_verify's fast paths against its plain path, on mutated signatures.

`read_detached_cms` + `check_cms` reuse what earlier signatures taught them: byte templates of a
known signature (`_TEMPLATES`) and profiles of a known signer (`_PROFILES`). They read untrusted
bytes, so every input must get from them exactly what `der.load_signed_data` +
`check_detached_cms` give, which decode it in full each time: the same check (signer, certificates,
signing time, algorithms, failure, detail) or the same error. Real signatures of the test PKI (RSA,
ECDSA, SM2, Ed25519) are mutated: bytes flipped, set, inserted, deleted, truncated, length octets
made to lie or swapped, and the three values a template reads (message digest, signing time,
signature) rewritten in place, which keeps the template matching.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI
from services.identity.adapters import cms_verify, der
from services.identity.adapters.signed_attributes import changing_windows
from services.identity.domain.errors import InvalidInput

SIGNERS = ("hk-personal", "hk-personal-ec", "gd-personal", "mo-personal")  # RSA, ECDSA P-256, SM2, Ed25519
SIGNATURES_PER_SIGNER = 3
TIME_TEXT = st.one_of(  # 13 bytes where a template reads the signing time
    st.datetimes(datetime(1950, 1, 1), datetime(2049, 12, 31, 23, 59, 59)).map(lambda t: t.strftime("%y%m%d%H%M%SZ")),
    st.text(alphabet="0123456789", min_size=12, max_size=12).map(lambda digits: digits + "Z"),  # month 13, second 60
    st.text(alphabet="0123456789Z+-. \n", min_size=13, max_size=13),
).map(str.encode)
LYING_BYTES = (0x00, 0x01, 0x04, 0x17, 0x30, 0x31, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xFF)
Outcome = tuple[object, ...]


def document(n: int) -> bytes:
    return f"document {n}: 合同 contract\n".encode() * 20


@dataclass(frozen=True)
class Base:
    """A real signature and where it is worth mutating."""

    signer: str
    signature: bytes
    document: bytes
    certificate: x509.Certificate
    hash_name: str
    headers: tuple[int, ...]  # offsets of every DER tag and length octet
    lengths: tuple[int, ...]  # offsets of the short-form length octets
    digest: tuple[int, int]  # (offset, length) of the message-digest value
    time_at: int  # offset of the 13-byte signing-time text
    signature_at: int  # offset of the signature value, to the end
    answers: tuple[Outcome, Outcome]  # of the plain path, without and with the certificate as an extra


def _elements(data: bytes, at: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(offset, contents offset, end) of every element, outer before inner."""
    for tag, start, stop in der.children(data, at, end):
        _, contents, _ = der.element(data, start, stop)
        yield start, contents, stop
        if tag & 0x20:  # constructed
            yield from _elements(data, contents, stop)


def _base(signer: str, signature: bytes, doc: bytes, certificate: x509.Certificate, hash_name: str) -> Base:
    elements = list(_elements(signature, 0, len(signature)))
    parts = der.split_signed_data(signature, "signature")
    assert parts is not None
    windows = changing_windows(parts.signed_attrs_as_set)
    assert windows is not None
    attrs_at = signature.index(parts.signed_attrs)
    return Base(
        signer,
        signature,
        doc,
        certificate,
        hash_name,
        tuple(sorted({o for at, contents, _ in elements for o in range(at, contents)})),
        tuple(at + 1 for at, contents, _ in elements if contents == at + 2),
        (attrs_at + windows[0], windows[1]),
        attrs_at + windows[2],
        len(signature) - len(parts.signature),
        (outcome(plain_path(signature, doc, None, [])), outcome(plain_path(signature, doc, None, [certificate]))),
    )


@pytest.fixture(scope="module")
def bases(pki: TestPKI) -> Iterator[list[Base]]:
    """Real signatures, each learnt by the fast paths as a returning signer's would be; the caches
    are this module's own for its duration."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cms_verify, "_PROFILES", OrderedDict())
        patch.setattr(cms_verify, "_TEMPLATES", OrderedDict())
        found = []
        for signer in SIGNERS:
            certificate = pki.certificate(signer)
            for n in range(SIGNATURES_PER_SIGNER):
                at = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=n)
                signature = sign_detached(document(n), pki.key(signer), certificate, at)
                for _ in range(3):  # in full, then by the signer's profile, then by the template learnt
                    check = fast_path(signature, document(n), None, [])()
                    assert check.failure is None
                assert len(signature) in cms_verify._TEMPLATES, f"{signer}: no template learnt"
                found.append(_base(signer, signature, document(n), certificate, check.digest_algorithm))
        yield found


def fast_path(
    signature: bytes, doc: bytes | None, digest: bytes | None, extra: list[x509.Certificate]
) -> Callable[[], cms_verify.SignatureCheck]:
    return lambda: cms_verify.check_cms(cms_verify.read_detached_cms(signature, "signature"), digest, doc, extra)


def plain_path(
    signature: bytes, doc: bytes | None, digest: bytes | None, extra: list[x509.Certificate]
) -> Callable[[], cms_verify.SignatureCheck]:
    def run() -> cms_verify.SignatureCheck:
        signed_data, carried = der.load_signed_data(signature, "signature")
        return cms_verify.check_detached_cms(signed_data, carried, digest, doc, extra)

    return run


def outcome(run: Callable[[], cms_verify.SignatureCheck]) -> Outcome:
    """What a caller can see: the check, or the error's kind, field, reason and message."""
    try:
        check = run()
    except InvalidInput as error:
        return ("InvalidInput", error.field, error.reason, error.message)
    except Exception as error:  # noqa: BLE001 - an unexpected error is an outcome to compare as well
        return (type(error).__name__,)
    return (
        check.signer.sha256 if check.signer is not None else None,
        tuple(c.sha256 for c in check.certificates),
        check.signing_time,
        check.digest_algorithm,
        check.signature_algorithm,
        check.failure,
        check.detail,
    )


@st.composite
def mutated(draw: st.DrawFn, base: Base) -> bytes:
    data = bytearray(base.signature)
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        operation = draw(
            st.sampled_from(
                ["digest", "time", "signature", "flip", "set", "insert", "delete", "truncate", "length", "swap"]
            )
        )
        same_shape = len(data) == len(base.signature)  # the windows are where they were
        headers = [o for o in base.headers if o < len(data)]
        anywhere = st.integers(0, len(data) - 1)
        at = draw(st.sampled_from(headers) if headers and draw(st.booleans()) else anywhere)
        if operation == "digest" and same_shape:
            start, length = base.digest
            data[start : start + length] = draw(st.binary(min_size=length, max_size=length))
        elif operation == "time" and same_shape:
            data[base.time_at : base.time_at + 13] = draw(TIME_TEXT)
        elif operation == "signature" and same_shape:
            tail = len(data) - base.signature_at
            data[base.signature_at :] = draw(st.binary(min_size=tail, max_size=tail))
        elif operation == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "set":
            data[at] = draw(st.sampled_from(LYING_BYTES))
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif operation == "truncate":
            del data[at:]
        elif operation in ("length", "swap") and same_shape:
            first = draw(st.sampled_from(base.lengths))
            if operation == "length":
                data[first] = (data[first] + draw(st.sampled_from([-2, -1, 1, 2, 0x80]))) % 256
            else:
                second = draw(st.sampled_from(base.lengths))
                data[first], data[second] = data[second], data[first]
    return bytes(data)


@settings(max_examples=300)
@given(data=st.data())
def test_the_fast_paths_answer_every_mutated_signature_as_the_plain_path_does(
    bases: list[Base], data: st.DataObject
) -> None:
    base = data.draw(st.sampled_from(bases), label="base")
    signature = data.draw(mutated(base), label="signature")
    with_extra = data.draw(st.booleans(), label="with_extra")
    extra = [base.certificate] if with_extra else []
    by_digest = data.draw(st.booleans(), label="by_digest")
    doc, digest = base.document, None
    if by_digest:  # the caller sends the digest instead of the document
        doc, digest = None, cms_verify.digest(base.hash_name, base.document)

    fast = outcome(fast_path(signature, doc, digest, extra))
    plain = outcome(plain_path(signature, doc, digest, extra))
    assert fast == plain, f"{base.signer}: paths disagree on {signature.hex()}"
    # Whatever the fast paths learnt from the mutated bytes, they still judge the real signature alike.
    real = outcome(fast_path(base.signature, base.document, None, extra))
    assert real == base.answers[with_extra], f"{base.signer}: after {signature.hex()}"


def stamped_outcome(run: Callable[[], cms_verify.SignatureCheck]) -> Outcome:
    """`outcome` and what the unsigned attributes carry."""
    try:
        check = run()
    except InvalidInput as error:
        return ("InvalidInput", error.field, error.reason, error.message)
    except Exception as error:  # noqa: BLE001 - an unexpected error is an outcome to compare as well
        return (type(error).__name__,)
    carried = (check.timestamp_tokens, check.signature_value, check.carries_validation_data)
    return (*outcome(lambda: check), *carried)


def by_profile(signature: bytes, doc: bytes) -> Callable[[], cms_verify.SignatureCheck]:
    """The fast path without templates: the signer's profile and `der.split_signed_data`."""

    def run() -> cms_verify.SignatureCheck:
        kept = cms_verify._TEMPLATES.copy()
        cms_verify._TEMPLATES.clear()
        try:
            return fast_path(signature, doc, None, [])()
        finally:
            cms_verify._TEMPLATES.clear()
            cms_verify._TEMPLATES.update(kept)

    return run


@pytest.mark.parametrize("signer", ["hk-personal-ec", "hk-personal", "gd-personal"])
def test_time_stamped_signatures_by_template_answer_as_the_other_paths(pki: TestPKI, signer: str) -> None:
    """A signature with a signature time-stamp after its value is read by template too: bytes
    flipped all along it (headers, signed attributes, signature value, time-stamp) answer as by
    the signer's profile, and as in full where that decodes. (A time-stamp is only framed on the
    profile's way, then checked as a token; the full decode refuses some broken tokens at once.)"""
    from devtools.testpki.timestamps import timestamp_signature

    tsa, hash_name = ("gd-tsa", "sm3") if signer == "gd-personal" else ("hk-tsa", "sha256")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cms_verify, "_PROFILES", OrderedDict())
        patch.setattr(cms_verify, "_TEMPLATES", OrderedDict())
        at = datetime(2026, 2, 1, tzinfo=UTC)
        signature = sign_detached(document(1), pki.key(signer), pki.certificate(signer), at)
        signature = timestamp_signature(signature, tsa, at, hash_name)
        for _ in range(3):  # in full, then by the signer's profile, then by the template learnt
            check = fast_path(signature, document(1), None, [])()
            assert check.failure is None and len(check.timestamp_tokens) == 1
        assert len(signature) in cms_verify._TEMPLATES
        assert cms_verify._from_template(signature) is not None
        for i in range(0, len(signature), 3):
            mutated = signature[:i] + bytes([signature[i] ^ (0x01 if i % 2 else 0x80)]) + signature[i + 1 :]
            fast = stamped_outcome(fast_path(mutated, document(1), None, []))
            assert fast == stamped_outcome(by_profile(mutated, document(1))), f"{signer}: byte {i}"
            plain = stamped_outcome(plain_path(mutated, document(1), None, []))
            assert plain[0] == "InvalidInput" or fast == plain, f"{signer}: byte {i}"
        assert stamped_outcome(fast_path(signature, document(1), None, []))[5] is None  # still passes
