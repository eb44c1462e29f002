import pytest
from asn1crypto import algos
from cryptography.exceptions import InvalidSignature

from devtools.testpki.loader import TestPKI
from services.identity.adapters import signatures
from services.identity.adapters.algorithm_policy import SchemeAlgorithmPolicy
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey, algorithm_identifier

CASES = [
    (KeyKind.RSA_2048, Scheme.RS256),
    (KeyKind.RSA_2048, Scheme.PS256),
    (KeyKind.EC_P256, Scheme.ES256),
    (KeyKind.EC_P384, Scheme.ES384),
    (KeyKind.ED25519, Scheme.EDDSA),
    (KeyKind.SM2, Scheme.SM2_SM3),
]


@pytest.fixture(scope="module")
def keys(pki: TestPKI) -> dict[KeyKind, SigningKey]:
    # Reuse committed keys: generating RSA keys in every test would be slow.
    return {
        k: pki.key(n)
        for k, n in [
            (KeyKind.RSA_2048, "hk-personal"),
            (KeyKind.EC_P256, "hk-personal-ec"),
            (KeyKind.EC_P384, "mo-ca"),
            (KeyKind.ED25519, "mo-personal"),
            (KeyKind.SM2, "gd-personal"),
        ]
    }


@pytest.mark.parametrize(("kind", "scheme"), CASES)
def test_every_scheme_verifies_its_own_signature_and_nothing_else(keys, kind: KeyKind, scheme: Scheme) -> None:
    key = keys[kind]
    signature = key.sign(b"document", scheme)
    algorithm = algorithm_identifier(scheme)
    assert signatures.verify(signature, b"document", key.public_key_info(), algorithm)
    assert not signatures.verify(signature, b"documenT", key.public_key_info(), algorithm)
    assert not signatures.verify(
        signature[:-1] + bytes([signature[-1] ^ 1]), b"document", key.public_key_info(), algorithm
    )


@pytest.mark.parametrize(
    ("signer", "claimed"),
    [
        (KeyKind.SM2, Scheme.ES256),
        (KeyKind.EC_P256, Scheme.SM2_SM3),
        (KeyKind.RSA_2048, Scheme.ES256),
        (KeyKind.ED25519, Scheme.RS256),
    ],
)
def test_key_and_algorithm_that_do_not_belong_together_are_invalid_not_errors(keys, signer, claimed) -> None:
    key = keys[signer]
    validator = signatures.SchemeSignatureValidator()
    with pytest.raises(InvalidSignature):
        validator.validate_signature(key.sign(b"d"), b"d", key.public_key_info(), algorithm_identifier(claimed))


def test_algorithm_policy_accepts_the_scheme_algorithms(keys) -> None:
    policy = SchemeAlgorithmPolicy()
    for kind, scheme in CASES:
        assert policy.signature_algorithm_allowed(algorithm_identifier(scheme), None, keys[kind].public_key_info())


def test_algorithm_policy_refuses_sha1_and_md5(keys) -> None:
    policy = SchemeAlgorithmPolicy()
    rsa = keys[KeyKind.RSA_2048].public_key_info()
    for name in ("sha1_rsa", "md5_rsa", "sha1_ecdsa"):
        assert not policy.signature_algorithm_allowed(algos.SignedDigestAlgorithm({"algorithm": name}), None, rsa)


def test_algorithm_policy_refuses_short_rsa_keys() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = SigningKey(KeyKind.RSA_2048, rsa.generate_private_key(public_exponent=65537, key_size=1024))
    constraint = SchemeAlgorithmPolicy().signature_algorithm_allowed(
        algorithm_identifier(Scheme.RS256), None, small.public_key_info()
    )
    assert not constraint and "2048" in constraint.failure_reason


def test_pem_round_trip_keeps_every_key_kind(keys) -> None:
    for key in keys.values():
        again = SigningKey.load_pem(key.private_pem())
        assert again.kind == key.kind and again.public_key_info().dump() == key.public_key_info().dump()
