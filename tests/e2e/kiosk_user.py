"""A kiosk's browser app, driving the gateway's HTTP API as a Hong Kong investor would at the counter:
open a session, identify with documents and e-Cert, draft, attach and sign every material with the
person's (test) e-Cert, submit, get a fee quote, pay, track.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import httpx
from asn1crypto import pem, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import TestPKI

NANHAI = "440605"
NANHAI_ESTABLISHMENT = "440605-HKMO-CO-EST"


@dataclass(frozen=True)
class Person:
    certificate: str  # the test PKI entity holding their e-Cert
    name_zh: str
    name_en: str
    date_of_birth: date
    hkid: str | None
    travel_permit: str
    macau_id: str | None = None

    def documents(self) -> dict[str, str]:
        found = {"hkid": self.hkid, "macau_id": self.macau_id, "travel_permit": self.travel_permit}
        return {kind: number for kind, number in found.items() if number}


# The test PKI's personal certificates carry "(TEST)" in the CN, so the declared English name does too.
CHAN = Person("hk-personal", "陳大文", "CHAN Tai Man (TEST)", date(1980, 3, 15), "A123456(3)", "H12345678")
LEE = Person("hk-personal-ec", "李小明", "LEE Siu Ming (TEST)", date(1992, 1, 9), "G123456(A)", "H87654321")
CHAN_MO = Person("mo-personal", "陳澳門", "CHAN Ou Mun (TEST)", date(1975, 11, 2), None, "M87654321", "1234567(8)")


def chain_pem(pki: TestPKI, entity: str) -> str:
    blocks = [pki.cert_pem(entity)] + [pem.armor("CERTIFICATE", der) for der in pki.intermediates(entity)]
    return b"".join(blocks).decode()


def webcrypto_signature(pki: TestPKI, entity: str, data: bytes) -> bytes:
    """What the kiosk page's WebCrypto gives for ``data`` signed with the entity's key (ECDSA: r || s)."""
    key = serialization.load_pem_private_key((pki.directory / "keys" / f"{entity}.key.pem").read_bytes(), None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        digest = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert isinstance(key, ed25519.Ed25519PrivateKey), f"{entity}: no WebCrypto signer for this key"
    return key.sign(data)


class KioskHttp(Protocol):
    """What a kiosk user needs of its client: httpx's, or the benchmarks' `BareKioskHttp`."""

    async def get(
        self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response: ...

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response: ...


class KioskUser:
    def __init__(self, http: KioskHttp, pki: TestPKI, kiosk_id: str = "HK-TST-01"):
        # The kiosk is who its device certificate says: a client of several kiosks gives this one's.
        as_kiosk = getattr(http, "as_kiosk", None)
        self.http = as_kiosk(kiosk_id) if as_kiosk is not None else http
        self.pki, self.kiosk_id = pki, kiosk_id
        self.token = ""
        self.handles: dict[str, str] = {}  # handle → test PKI entity

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def open(self, language: str = "en") -> dict[str, Any]:
        response = await self.http.post("/v1/sessions", json={"kiosk_id": self.kiosk_id, "language": language})
        assert response.status_code == 201, response.text
        self.token = response.json()["session_token"]
        return dict(response.json())

    def identify_body(self, person: Person, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "documents": person.documents(),
            "name_zh": person.name_zh,
            "name_en": person.name_en,
            "date_of_birth": person.date_of_birth.isoformat(),
            "certificate_chain_pem": chain_pem(self.pki, person.certificate),
        }
        body.update(changes)
        return body

    async def challenge(self) -> dict[str, Any]:
        response = await self.http.post("/v1/sessions/current/identify/challenge", headers=self.auth)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def proof(self, entity: str) -> dict[str, str]:
        """A fresh challenge of the session, signed by ``entity``'s key as the kiosk page signs it."""
        challenge = await self.challenge()
        data = base64.b64decode(challenge["data_to_sign_base64"])
        signature = webcrypto_signature(self.pki, entity, data)
        return {"challenge_id": challenge["challenge_id"], "signature_base64": base64.b64encode(signature).decode()}

    async def identify(
        self, person: Person, *, proof: dict[str, str] | None = None, signer: str = "", lang_query: str = "",
        **changes: Any,
    ) -> httpx.Response:  # fmt: skip
        """Identify ``person``; the proof of possession is signed by their key unless given (or ``signer``'s)."""
        proof = proof or await self.proof(signer or person.certificate)
        body = {**self.identify_body(person, **changes), **proof}
        params = {"lang": lang_query} if lang_query else None
        response = await self.http.post("/v1/sessions/current/identify", json=body, headers=self.auth, params=params)
        if response.status_code == 200:
            self.handles[response.json()["person"]] = person.certificate
        return response

    async def draft(
        self, handle: str, trade_name: str, item: str = NANHAI_ESTABLISHMENT, currency: str = "HKD",
        correlation_id: str = "", request_id: str = "",
    ) -> dict[str, Any]:  # fmt: skip
        capital = {"currency": currency, "amount": "1000000.00"}
        body = {
            "catalogue_item_id": item,
            "applicant": handle,
            "registered_capital": capital,
            "address": "佛山市南海区桂城街道灯湖东路1号",
            "business_scope": "贸易咨询；技术服务",
            "investors": [{"person": handle, "subscribed_capital": capital}],
            "name": {"trade_name": trade_name, "industry": "贸易", "organisational_form": "有限公司"},
        }
        if request_id:
            body["request_id"] = request_id
        headers = {**self.auth, **({"X-Correlation-Id": correlation_id} if correlation_id else {})}
        response = await self.http.post("/v1/applications", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def requirements(self, item: str = NANHAI_ESTABLISHMENT) -> list[dict[str, Any]]:
        response = await self.http.get("/v1/catalogue", params={"authority": item[:6]}, headers=self.auth)
        assert response.status_code == 200, response.text
        [found] = [i for i in response.json()["items"] if i["item_id"] == item]
        return list(found["materials"])

    async def attach(self, application_id: str, material_type: str, content: bytes) -> httpx.Response:
        body = {
            "material_type": material_type,
            "filename": f"{material_type}.pdf",
            "content_base64": base64.b64encode(content).decode(),
        }
        return await self.http.post(f"/v1/applications/{application_id}/materials", json=body, headers=self.auth)

    def signature(self, entity: str, content: bytes) -> str:
        chain = [x509.Certificate.load(der) for der in self.pki.intermediates(entity)]
        cms = sign_detached(content, self.pki.key(entity), self.pki.certificate(entity), datetime.now(UTC), chain)
        return base64.b64encode(cms).decode()

    async def sign(self, application_id: str, material_id: str, cms_base64: str) -> httpx.Response:
        path = f"/v1/applications/{application_id}/materials/{material_id}/signatures"
        return await self.http.post(path, json={"cms_base64": cms_base64}, headers=self.auth)

    async def prepare(self, application_id: str) -> dict[str, Any]:
        """Attach every mandatory material; each signer the gateway names signs it with their e-Cert."""
        for requirement in await self.requirements():
            if not requirement["mandatory"]:
                continue
            content = f"%PDF-1.7 {requirement['material_type']} {application_id}".encode()
            attached = await self.attach(application_id, requirement["material_type"], content)
            assert attached.status_code == 201, attached.text
            upload = attached.json()
            for signer in (upload["to_sign"] or {}).get("signers", []):
                signed = await self.sign(
                    application_id, upload["material"]["material_id"], self.signature(self.handles[signer["person"]],
                                                                                       content)
                )  # fmt: skip
                assert signed.status_code == 200, signed.text
        return await self.track(application_id)

    async def submit(self, application_id: str) -> dict[str, Any]:
        response = await self.http.post(f"/v1/applications/{application_id}/submit", headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def track(self, application_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/applications/{application_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def quote(self, application_id: str, currency: str = "HKD") -> httpx.Response:
        params = {"currency": currency}
        return await self.http.get(f"/v1/applications/{application_id}/fee", params=params, headers=self.auth)

    async def pay(self, application_id: str, quote_id: str) -> httpx.Response:
        body = {"quote_id": quote_id}
        return await self.http.post(f"/v1/applications/{application_id}/pay", json=body, headers=self.auth)

    async def submitted(self, person: Person, trade_name: str) -> tuple[str, dict[str, Any]]:
        """Identify ``person`` (in the open session), draft, sign everything, submit: (handle, application)."""
        identified = await self.identify(person)
        assert identified.status_code == 200, identified.text
        handle = identified.json()["person"]
        drafted = await self.draft(handle, trade_name)
        application_id = drafted["application"]["application_id"]
        prepared = await self.prepare(application_id)
        assert prepared["materials_verified"], prepared
        return handle, await self.submit(application_id)
