import base64

import pytest

from devtools.testpki.loader import TestPKI
from services.identity.adapters import der
from services.identity.domain.errors import InvalidInput


def test_der_and_pem_give_the_same_certificate(pki: TestPKI) -> None:
    from_der = der.load_certificate(pki.cert("gd-personal"), "certificate")
    from_pem = der.load_certificate(pki.cert_pem("gd-personal"), "certificate")
    assert from_der.dump() == from_pem.dump()


def test_text_around_a_pem_block_is_ignored(pki: TestPKI) -> None:
    noisy = b"Bag Attributes\n    localKeyID: 01 02\nsubject=/CN=x\n" + pki.cert_pem("hk-personal") + b"\ntrailer\x00"
    assert der.load_certificate(noisy, "certificate").dump() == pki.cert("hk-personal")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x00garbage\xff" * 10, "malformed"),
        (b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n", "malformed"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "malformed"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "malformed"),
        (b"\x00" * (10 * 1024 * 1024), "too_large"),
    ],
)
def test_unusable_certificate_bytes_are_invalid_input_naming_the_field(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        der.load_certificate(data, "certificate")
    assert (err.value.field, err.value.reason) == ("certificate", reason)


@pytest.mark.parametrize("cut", [1, 10, 100, 400])
def test_truncated_der_is_malformed(pki: TestPKI, cut: int) -> None:
    with pytest.raises(InvalidInput) as err:
        der.load_certificate(pki.cert("mo-personal")[:-cut], "certificate")
    assert err.value.reason == "malformed"


def test_trailing_bytes_after_der_are_malformed(pki: TestPKI) -> None:
    with pytest.raises(InvalidInput):
        der.load_certificate(pki.cert("mo-personal") + b"\x00", "certificate")


def test_two_pem_blocks_where_one_is_expected_are_refused(pki: TestPKI) -> None:
    with pytest.raises(InvalidInput):
        der.load_certificate(pki.cert_pem("hk-ca") + pki.cert_pem("hk-root"), "certificate")


def test_bad_intermediate_is_named_by_its_index(pki: TestPKI) -> None:
    with pytest.raises(InvalidInput) as err:
        der.load_certificates([pki.cert("hk-ca"), b"junk"], "intermediates")
    assert err.value.field == "intermediates[1]"


def test_too_many_intermediates_are_refused(pki: TestPKI) -> None:
    with pytest.raises(InvalidInput) as err:
        der.load_certificates([pki.cert("hk-ca")] * 11, "intermediates")
    assert err.value.reason == "too_many"


def test_signature_that_is_not_cms_signed_data_is_invalid_input(pki: TestPKI) -> None:
    with pytest.raises(InvalidInput) as err:
        der.load_signed_data(pki.cert("hk-ca"), "signature")
    assert err.value.field == "signature"
    with pytest.raises(InvalidInput) as err:
        der.load_signed_data(base64.b64encode(b"x" * 30), "signature")
    assert err.value.reason == "malformed"
