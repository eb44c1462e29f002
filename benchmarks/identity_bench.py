"""Microbenchmarks of the identity service's validation paths (not tests).

    .venv/bin/python -m benchmarks.identity_bench [--seconds 2]

Uses the committed test PKI with its revocation answers pre-loaded into the cache, so the
figures measure our code and the crypto, not HTTP. Each function returns operations per second.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from services.identity.adapters import signatures
from services.identity.adapters.fetchers import FetchSettings
from services.identity.adapters.keys import KeyKind, Scheme, SigningKey, algorithm_identifier
from services.identity.adapters.pkix import PkixEngine
from services.identity.adapters.revocation_cache import RevocationCache
from services.identity.adapters.trustlist_signature import ListSignatureVerifier
from services.identity.domain.trustlist import Jurisdiction
from services.identity.service_layer.chain_cache import ChainResultCache
from services.identity.service_layer.trust_store import TrustListStore
from services.identity.service_layer.validate_certificate import CertificateValidator, ValidateCertificate
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature
from services.identity.testpki.cms_sign import sign_detached
from services.identity.testpki.loader import COMMITTED, TestPKI
from services.identity.testpki.revocation import seed_cache

LEAVES = {
    "HK RSA-PSS chain, RSA leaf": "hk-personal",
    "MO P-384 chain, Ed25519 leaf": "mo-personal",
    "GD SM2 chain, SM2 leaf": "gd-personal",
}


def _rate(seconds: float, step: Callable[[], object]) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        step()
        count += 1
    return count / elapsed


async def _arate(seconds: float, step: Callable[[], Awaitable[object]]) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        await step()
        count += 1
    return count / elapsed


def _validator(pki: TestPKI, cache: RevocationCache, chain_cache: ChainResultCache) -> CertificateValidator:
    store = TrustListStore(pki.list_signers(), ListSignatureVerifier())
    for jurisdiction in Jurisdiction:
        store.load(pki.trust_list_document(jurisdiction))
    engine = PkixEngine(cache=cache, fetch=FetchSettings(timeout_seconds=0.5, allowed_hosts=frozenset({"127.0.0.1"})))
    return CertificateValidator(store, engine, chain_cache)


async def cold_chain_validations(pki: TestPKI, cache: RevocationCache, leaf: str, seconds: float) -> float:
    """Full RFC 5280 path validation of a 3-certificate chain each time; revocation from cache."""
    no_reuse = ChainResultCache(max_entries=0)
    validator = _validator(pki, cache, no_reuse)
    command = ValidateCertificate(pki.cert(leaf), tuple(pki.intermediates(leaf)))
    assert (await validator.handle(command)).passed
    return await _arate(seconds, lambda: validator.handle(command))


async def signed_document_verifications(pki: TestPKI, cache: RevocationCache, leaf: str, seconds: float) -> float:
    """Detached CMS verification (digest, signed attributes, signature) with the chain result cached."""
    verifier = SignatureVerifier(_validator(pki, cache, ChainResultCache()))
    document = b"x" * 4096
    signature = sign_detached(document, pki.key(leaf), pki.certificate(leaf), datetime(2026, 2, 1, tzinfo=UTC))
    command = VerifyCmsSignature(signature, document=document, intermediates=tuple(pki.intermediates(leaf)))
    assert (await verifier.verify_cms(command)).passed
    return await _arate(seconds, lambda: verifier.verify_cms(command))


def raw_signature_verifications(key: SigningKey, scheme: Scheme, seconds: float) -> float:
    digest = hashlib.sha256(b"document").digest()
    signature, public_key, algorithm = (
        key.sign(digest, scheme),
        key.public_key_info(),
        algorithm_identifier(scheme),
    )
    assert signatures.verify(signature, digest, public_key, algorithm)
    return _rate(seconds, lambda: signatures.verify(signature, digest, public_key, algorithm))


def signing(key: SigningKey, seconds: float) -> float:
    return _rate(seconds, lambda: key.sign(b"document"))


async def run(seconds: float) -> None:
    pki = TestPKI(COMMITTED)
    cache = RevocationCache()
    seed_cache(pki, cache)
    print(f"identity microbenchmarks ({seconds:g} s each, ops/s)")
    for label, leaf in LEAVES.items():
        _line("cold chain validation", label, await cold_chain_validations(pki, cache, leaf, seconds))
    for label, leaf in LEAVES.items():
        _line("CMS verify, chain cached", label, await signed_document_verifications(pki, cache, leaf, seconds))
    raw = [
        ("RSA-2048 PKCS#1 v1.5", "hk-personal", Scheme.RS256),
        ("RSA-2048 PSS", "hk-personal", Scheme.PS256),
        ("ECDSA P-256", "hk-personal-ec", Scheme.ES256),
        ("ECDSA P-384", "mo-ca", Scheme.ES384),
        ("Ed25519", "mo-personal", Scheme.EDDSA),
        ("SM2-SM3", "gd-personal", Scheme.SM2_SM3),
    ]
    for label, name, scheme in raw:
        _line("raw signature verify", label, raw_signature_verifications(pki.key(name), scheme, seconds))
    for kind in (KeyKind.EC_P256, KeyKind.SM2):
        _line("sign", kind.value, signing(SigningKey.generate(kind, b"bench"), seconds))


def _line(what: str, label: str, rate: float) -> None:
    print(f"  {what:26s} {label:30s} {rate:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
