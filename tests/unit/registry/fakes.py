"""In-process stand-ins for the identity service's VerifySignature and for the TSA, and builders of test input.

The fake implements the registry's ``SignatureVerifier`` port. Its "signatures" name the signer's
certificate fingerprint and the digest they cover, so tests can make good, bad, misdirected and
try-later signatures, and the fake checks the registry sent the material's own digest.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from baylink import errors
from services.registry.domain.enterprise import EnterpriseDetails, Investor, InvestorKind, Money
from services.registry.service_layer.ports import SignatureCheck, Stamped, ValidationData, Verdict

ALICE_CERT = hashlib.sha256(b"alice's e-Cert").hexdigest()  # investor and legal representative
BOB_CERT = hashlib.sha256(b"bob's e-Cert").hexdigest()  # second investor
MALLORY_CERT = hashlib.sha256(b"mallory's e-Cert").hexdigest()  # valid certificate, not a party


class FakeIdentity:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes]] = []

    @staticmethod
    def sign(certificate_sha256: str, document: bytes) -> bytes:
        return b"fake-cms:" + certificate_sha256.encode() + b":" + hashlib.sha256(document).hexdigest().encode()

    async def verify(self, cms_signature: bytes, document: bytes) -> SignatureCheck:
        document_sha256 = hashlib.sha256(document).digest()
        self.calls.append((cms_signature, document_sha256))
        if cms_signature == b"try-later":
            return SignatureCheck(Verdict.TRY_LATER, "", "TRY_LATER")
        parts = cms_signature.split(b":")
        if len(parts) != 3 or parts[0] != b"fake-cms":
            return SignatureCheck(Verdict.FAILED, "", "TOTAL_FAILED/FORMAT_FAILURE")
        if parts[2].decode() != document_sha256.hex():
            return SignatureCheck(Verdict.FAILED, parts[1].decode(), "TOTAL_FAILED/HASH_FAILURE")
        evidence = ValidationData((b"fake-certificate:" + parts[1],), (b"fake-ocsp",), ())
        return SignatureCheck(Verdict.PASSED, parts[1].decode(), "TOTAL_PASSED", None, evidence)


class FakeTimeStamper:
    """The registry's ``SignatureTimeStamper`` port in process: "stamps" a fake CMS by appending a
    token naming a serial; ``down`` makes it refuse as an unreachable TSA does."""

    def __init__(self) -> None:
        self.down = False
        self.stamped: list[bytes] = []

    async def stamp(self, cms_signature: bytes) -> Stamped:
        if self.down:
            raise errors.Unavailable("the time-stamping service is unavailable", reason="TSA_UNAVAILABLE")
        self.stamped.append(cms_signature)
        token = f"fake-token:{len(self.stamped)}".encode()
        return Stamped(cms_signature + b":" + token, token, datetime.now(UTC))


def cny(yuan: int) -> Money:
    return Money("CNY", yuan * 100)


def company(capital: Money | None = None, *, two_investors: bool = False) -> EnterpriseDetails:
    """A Hong Kong-invested company: Alice (HK) invests and represents it; optionally Bob (MO) too."""
    capital = capital or cny(1_000_000)
    if two_investors:
        half = Money(capital.currency, capital.minor_units // 2)
        investors = (
            Investor(InvestorKind.NATURAL_PERSON, "陳大文", "HK", "pseud-alice", half, ALICE_CERT),
            Investor(InvestorKind.NATURAL_PERSON, "陳澳門", "MO", "pseud-bob", half, BOB_CERT),
        )
    else:
        investors = (Investor(InvestorKind.NATURAL_PERSON, "陳大文", "HK", "pseud-alice", capital, ALICE_CERT),)
    return EnterpriseDetails(
        registered_capital=capital,
        address="佛山市南海区桂城街道海八路1号",
        business_scope="贸易咨询",
        investors=investors,
        legal_representative_name="陳大文",
        legal_representative_ref="pseud-alice",
        legal_representative_certificate_sha256=ALICE_CERT,
    )
