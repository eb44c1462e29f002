"""The signed trust-list document: canonical JSON with a detached signature by the scheme operator.

Document layout (one JSON file)::

    {"format": "baylink.trustlist.v1",
     "trust_list": {...},
     "signature": {"algorithm": "ES256", "signer_certificate": "<base64 DER>", "value": "<base64>"}}

The signature covers the canonical bytes of everything but its own value
(`signing_input`): the format tag, the algorithm and the signer certificate are protected
together with the list, so none of them can be swapped without breaking the signature.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baylink.i18n import LocalText
from services.identity.domain import canonical_json
from services.identity.domain.errors import InvalidInput
from services.identity.domain.trustlist import (
    Jurisdiction,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    every_language,
)

FORMAT = "baylink.trustlist.v1"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class SignedTrustList:
    trust_list: TrustList
    algorithm: str
    signer_certificate_der: bytes
    signature: bytes
    signing_input: bytes


def signing_input(trust_list: TrustList, algorithm: str, signer_certificate_der: bytes) -> bytes:
    return canonical_json.dumps(_protected(list_to_dict(trust_list), algorithm, signer_certificate_der))


def encode_document(trust_list: TrustList, algorithm: str, signer_der: bytes, signature: bytes) -> bytes:
    document = {
        "format": FORMAT,
        "trust_list": list_to_dict(trust_list),
        "signature": {
            "algorithm": algorithm,
            "signer_certificate": _b64(signer_der),
            "value": _b64(signature),
        },
    }
    return canonical_json.dumps_readable(document)


def decode_document(data: bytes) -> SignedTrustList:
    document = _object(canonical_json.loads(data, "trust_list_document"), "trust_list_document")
    if document.get("format") != FORMAT:
        raise InvalidInput("format", "unsupported", f"expected format {FORMAT!r}")
    signature = _object(document.get("signature"), "signature")
    algorithm = _string(signature.get("algorithm"), "signature.algorithm")
    signer_der = _unb64(signature.get("signer_certificate"), "signature.signer_certificate")
    value = _unb64(signature.get("value"), "signature.value")
    raw_list = _object(document.get("trust_list"), "trust_list")
    trust_list = list_from_dict(raw_list)
    protected = canonical_json.dumps(_protected(raw_list, algorithm, signer_der))
    return SignedTrustList(trust_list, algorithm, signer_der, value, protected)


def _protected(list_dict: dict[str, Any], algorithm: str, signer_der: bytes) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "signature_algorithm": algorithm,
        "signer_certificate": _b64(signer_der),
        "trust_list": list_dict,
    }


def list_to_dict(trust_list: TrustList) -> dict[str, Any]:
    return {
        "jurisdiction": trust_list.jurisdiction.value,
        "sequence_number": trust_list.sequence_number,
        "issue_date": _time_out(trust_list.issue_date),
        "next_update": _time_out(trust_list.next_update),
        "scheme_operator": _text_out(trust_list.scheme_operator),
        "services": [_service_out(s) for s in trust_list.services],
    }


def list_from_dict(raw: dict[str, Any]) -> TrustList:
    services = raw.get("services")
    if not isinstance(services, list):
        raise InvalidInput("trust_list.services", "wrong_type", "expected an array")
    return TrustList(
        jurisdiction=_enum(Jurisdiction, raw.get("jurisdiction"), "trust_list.jurisdiction"),
        sequence_number=_int(raw.get("sequence_number"), "trust_list.sequence_number"),
        issue_date=_time_in(raw.get("issue_date"), "trust_list.issue_date"),
        next_update=_time_in(raw.get("next_update"), "trust_list.next_update"),
        scheme_operator=_text_in(raw.get("scheme_operator"), "trust_list.scheme_operator"),
        services=tuple(_service_in(item, f"trust_list.services[{i}]") for i, item in enumerate(services)),
    )


def _service_out(service: TrustService) -> dict[str, Any]:
    return {
        "name": _text_out(service.name),
        "service_type": service.service_type.value,
        "certificate": _b64(service.certificate_der),
        "status_history": [{"status": c.status.value, "since": _time_out(c.since)} for c in service.status_history],
        "recognised_policies": sorted(service.recognised_policies),
    }


def _service_in(raw: Any, path: str) -> TrustService:
    item = _object(raw, path)
    history = item.get("status_history")
    policies = item.get("recognised_policies")
    if not isinstance(history, list):
        raise InvalidInput(f"{path}.status_history", "wrong_type", "expected an array")
    if not isinstance(policies, list) or not all(isinstance(p, str) and _is_oid(p) for p in policies):
        raise InvalidInput(f"{path}.recognised_policies", "wrong_type", "expected an array of dotted OIDs")
    return TrustService(
        name=_text_in(item.get("name"), f"{path}.name"),
        service_type=_enum(ServiceType, item.get("service_type"), f"{path}.service_type"),
        certificate_der=_unb64(item.get("certificate"), f"{path}.certificate"),
        status_history=tuple(_status_in(h, f"{path}.status_history[{j}]") for j, h in enumerate(history)),
        recognised_policies=frozenset(policies),
    )


def _status_in(raw: Any, path: str) -> StatusChange:
    item = _object(raw, path)
    return StatusChange(
        _enum(ServiceStatus, item.get("status"), f"{path}.status"),
        _time_in(item.get("since"), f"{path}.since"),
    )


def _text_out(text: LocalText) -> dict[str, str]:
    return {"zh-Hant": text.zh_hant, "zh-Hans": text.zh_hans, "en": text.en}


def _text_in(raw: Any, path: str) -> LocalText:
    item = _object(raw, path)
    zh_hant, zh_hans, en = (_string(item.get(k), f"{path}.{k}") for k in ("zh-Hant", "zh-Hans", "en"))
    return every_language(LocalText(zh_hant=zh_hant, zh_hans=zh_hans, en=en))


def _time_out(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _time_in(raw: Any, path: str) -> datetime:
    try:
        return datetime.strptime(_string(raw, path), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(path, "malformed", "expected a UTC time like 2026-01-31T00:00:00Z") from exc


def _enum(kind: Any, raw: Any, path: str) -> Any:
    try:
        return kind(_string(raw, path))
    except ValueError as exc:
        raise InvalidInput(path, "unknown_value", f"{raw!r} is not one of {[m.value for m in kind]}") from exc


def _object(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(path, "wrong_type", "expected an object")
    return raw


def _string(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(path, "wrong_type", "expected a string")
    return raw


def _int(raw: Any, path: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise InvalidInput(path, "wrong_type", "expected an integer")
    return raw


def _is_oid(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(p.isdigit() for p in parts)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(raw: Any, path: str) -> bytes:
    try:
        return base64.b64decode(_string(raw, path), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(path, "malformed", "expected standard base64") from exc
