"""Revocation data of the test PKI: CRLs and RFC 6960 OCSP responses made on request.

Answers are dated a few minutes in the past (clock-skew margin, as real responders do) and are
valid for an hour, so validators that cache them see realistic freshness windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from asn1crypto import core, crl, ocsp

from devtools.testpki.loader import TestPKI
from devtools.testpki.x509build import Issuer, RevokedEntry, build_crl, issuer_for
from services.identity.adapters.keys import algorithm_identifier
from services.identity.adapters.revocation_cache import RevocationCache, ocsp_key

BACKDATE = timedelta(minutes=5)
VALIDITY = timedelta(hours=1)


class OcspBehaviour(StrEnum):
    NORMAL = "normal"
    WRONG_CERT = "wrong_cert"  # answer about a different serial than the one asked for
    TRY_LATER = "try_later"  # RFC 6960 tryLater status, no response bytes


class RevocationAuthority:
    """Everything one CA needs to publish status: its key, what it issued, what it revoked."""

    def __init__(self, pki: TestPKI, name: str) -> None:
        self.name = name
        self.issuer: Issuer = issuer_for(pki.certificate(name), pki.key(name))
        self.issued = set(pki.issued_by(name))
        self.revoked = {r.serial: r for r in pki.revocations(name)}
        responder = pki.responder_for(name)
        self.responder_cert = pki.certificate(responder)
        self.responder: Issuer = issuer_for(self.responder_cert, pki.key(responder))
        self.delegated = responder != name
        self.crl_number = 0

    def crl_der(self, now: datetime | None = None) -> bytes:
        now = now or datetime.now(UTC)
        self.crl_number += 1
        entries = [RevokedEntry(r.serial, r.revoked_at, r.reason) for r in self.revoked.values()]
        return bytes(build_crl(self.issuer, self.crl_number, now - BACKDATE, now + VALIDITY, entries).dump())

    def ocsp_der(self, request_der: bytes, behaviour: OcspBehaviour, now: datetime | None = None) -> bytes:
        now = now or datetime.now(UTC)
        if behaviour is OcspBehaviour.TRY_LATER:
            return bytes(ocsp.OCSPResponse({"response_status": "try_later"}).dump())
        try:
            request = ocsp.OCSPRequest.load(request_der)
            cert_ids = [item["req_cert"] for item in request["tbs_request"]["request_list"]]
            request.native  # noqa: B018 - force a full parse; malformed requests are answered as such
        except (ValueError, TypeError, KeyError):
            return bytes(ocsp.OCSPResponse({"response_status": "malformed_request"}).dump())
        singles = [self._single(cert_id, behaviour, now) for cert_id in cert_ids]
        if any(s is None for s in singles):
            return bytes(ocsp.OCSPResponse({"response_status": "unauthorized"}).dump())
        return self._sign([s for s in singles if s is not None], now)

    def _single(self, cert_id: ocsp.CertId, behaviour: OcspBehaviour, now: datetime) -> dict[str, object] | None:
        hash_name = cert_id["hash_algorithm"]["algorithm"].native
        issuer_cert_key = self.issuer.key.public_key_info()
        if cert_id["issuer_key_hash"].native != getattr(issuer_cert_key, hash_name, None):
            return None  # not a certificate of this CA: RFC 6960 "unauthorized"
        serial = cert_id["serial_number"].native
        if behaviour is OcspBehaviour.WRONG_CERT:
            cert_id = ocsp.CertId({**cert_id.native, "serial_number": serial + 1})
        return {
            "cert_id": cert_id,
            "cert_status": self._status(serial),
            "this_update": now - BACKDATE,
            "next_update": now + VALIDITY,
        }

    def _status(self, serial: int) -> ocsp.CertStatus:
        if serial in self.revoked:
            entry = self.revoked[serial]
            info = {"revocation_time": entry.revoked_at, "revocation_reason": entry.reason}
            return ocsp.CertStatus(name="revoked", value=ocsp.RevokedInfo(info))
        if serial in self.issued:
            return ocsp.CertStatus(name="good", value=core.Null())
        return ocsp.CertStatus(name="unknown", value=core.Null())

    def _sign(self, singles: list[dict[str, object]], now: datetime) -> bytes:
        data = ocsp.ResponseData(
            {
                "responder_id": ocsp.ResponderId(name="by_key", value=self.responder.key_identifier),
                "produced_at": now,
                "responses": singles,
            }
        )
        algorithm = algorithm_identifier(self.responder.scheme)
        basic = {
            "tbs_response_data": data,
            "signature_algorithm": algorithm,
            "signature": self.responder.key.sign(data.dump(), self.responder.scheme),
            "certs": [self.responder_cert] if self.delegated else [],
        }
        if not self.delegated:
            del basic["certs"]
        response_bytes = {"response_type": "basic_ocsp_response", "response": ocsp.BasicOCSPResponse(basic)}
        return bytes(ocsp.OCSPResponse({"response_status": "successful", "response_bytes": response_bytes}).dump())


def seed_cache(pki: TestPKI, cache: RevocationCache, now: datetime | None = None) -> None:
    """Fill `cache` with fresh CRLs and OCSP answers for every certificate of the PKI, as if
    they had been fetched: validations then run without any network (unit tests, benchmarks)."""
    from services.identity.adapters.fetchers import build_ocsp_request

    for name in pki.authorities():
        authority = RevocationAuthority(pki, name)
        cache.put_crl(f"{pki.base_url}/crl/{name}.crl", crl.CertificateList.load(authority.crl_der(now)))
        issuer_key_sha1 = pki.certificate(name).public_key.sha1
        for child in pki.issued_by(name).values():
            cert = pki.certificate(child)
            request = build_ocsp_request(cert, issuer_key_sha1).dump()
            answer = ocsp.OCSPResponse.load(authority.ocsp_der(request, OcspBehaviour.NORMAL, now))
            cache.put_ocsp(ocsp_key(cert), answer)
