"""SM2/SM3 through tongsuopy, checked against the standards rather than against itself."""

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import core, pem, x509

from services.identity.adapters import signatures, sm2

# GB/T 32905 (SM3) example 1.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

# Recommended SM2 curve (GB/T 32918.5) for the independent verifier below.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and (p1[1] + p2[1]) % P == 0:
        return None
    if p1 == p2:
        slope = (3 * p1[0] * p1[0] + A) * pow(2 * p1[1], -1, P) % P
    else:
        slope = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, P) % P
    x = (slope * slope - p1[0] - p2[0]) % P
    return x, (slope * (p1[0] - x) - p1[1]) % P


def _mul(k, point):
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point, k = _add(point, point), k >> 1
    return result


def textbook_verify(public_point: bytes, message: bytes, signature: bytes) -> bool:
    """GB/T 32918.2 verification written out, with our own Z: an oracle independent of Tongsuo."""
    r, s = (int(v) for v in core.load(signature).native.values())
    e = int.from_bytes(sm2.sm3(sm2.z_value(public_point) + message), "big")
    t = (r + s) % sm2.N
    q = (int.from_bytes(public_point[1:33], "big"), int.from_bytes(public_point[33:], "big"))
    x1, _ = _add(_mul(s, (GX, GY)), _mul(t, q))
    return (e + x1) % sm2.N == r


def test_sm3_matches_the_standard_example() -> None:
    assert sm2.sm3(b"abc").hex() == SM3_ABC


def test_sm3_by_hashlib_and_by_tongsuopy_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenSSL's SM3 (when hashlib has it) and Tongsuo's give the same digests."""
    data = [b"", b"abc", b"a" * 55, b"a" * 56, b"a" * 64, bytes(range(256)) * 17]
    ours = [sm2.sm3(d) for d in data]
    monkeypatch.setattr(sm2, "_HASHLIB_SM3", False)
    assert [sm2.sm3(d) for d in data] == ours
    assert sm2.sm3(b"abc").hex() == SM3_ABC


def test_signatures_carry_the_gmt0009_z_value_of_the_default_identity() -> None:
    key = sm2.generate_private_key(b"z-check")
    point = sm2.public_point(key)
    signature = sm2.sign(key, b"message digest")
    assert textbook_verify(point, b"message digest", signature)
    assert not textbook_verify(point, b"message digesT", signature)


def test_z_value_depends_on_the_user_identity() -> None:
    point = sm2.public_point(sm2.generate_private_key(b"id"))
    assert sm2.z_value(point) != sm2.z_value(point, b"ALICE123@YAHOO.COM")
    with pytest.raises(ValueError):
        sm2.z_value(point[1:])


def test_seeded_keys_are_reproducible_and_distinct() -> None:
    assert sm2.public_point(sm2.generate_private_key(b"a")) == sm2.public_point(sm2.generate_private_key(b"a"))
    assert sm2.public_point(sm2.generate_private_key(b"a")) != sm2.public_point(sm2.generate_private_key(b"b"))


@pytest.mark.parametrize("signature", [b"", b"\x30\x00", b"garbage", b"\x30\x06\x02\x01\x01\x02\x01\x01"])
def test_garbage_signatures_are_simply_invalid(signature: bytes) -> None:
    point = sm2.public_point(sm2.generate_private_key(b"g"))
    assert sm2.verify(point, b"m", signature) is False


def test_garbage_public_keys_are_simply_invalid() -> None:
    key = sm2.generate_private_key(b"k")
    assert sm2.verify(b"\x04" + b"\x01" * 64, b"m", sm2.sign(key, b"m")) is False


def test_private_keys_round_trip_through_pkcs8_pem() -> None:
    key = sm2.generate_private_key(b"pem")
    again = sm2.load_private_key_pem(sm2.private_key_pem(key))
    assert sm2.public_point(again) == sm2.public_point(key)


def test_certificate_made_by_openssl_verifies_with_our_sm2_validator(tmp_path: Path) -> None:
    """Interoperability: OpenSSL signs SM2 certificates with the same default identity."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    made = subprocess.run([openssl, "genpkey", "-algorithm", "SM2", "-out", str(key)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this openssl has no SM2")
    subprocess.run(
        [
            openssl,
            "req",
            "-new",
            "-x509",
            "-key",
            str(key),
            "-sm3",
            "-subj",
            "/CN=interop",
            "-sigopt",
            "distid:1234567812345678",
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    certificate = x509.Certificate.load(pem.unarmor(cert.read_bytes())[2])
    assert sm2.is_sm2_key(certificate.public_key)
    assert signatures.verify(
        certificate["signature_value"].native,
        certificate["tbs_certificate"].dump(),
        certificate.public_key,
        certificate["signature_algorithm"],
    )
