"""Reports as plain dicts: the `--json` output and what the human view renders.

Offline runs produce domain reports (`services.identity.domain.report`), online runs the
protobuf reports of the identity service; both are turned into the same shape here, so the
output does not depend on where the validation ran. One difference: the service names the chain
by fingerprints, so online only the end entity's subject is known (from the subject summary),
and the trust service's name is replaced by its authority id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from baylink.i18n import LocalText
from services.identity.domain.messages import MESSAGES
from services.identity.domain.report import ChainElement, SignatureReport, TimestampReport, ValidationReport

Report = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def text(value: LocalText | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"zh-Hant": value.zh_hant, "zh-Hans": value.zh_hans, "en": value.en}


def _element(element: ChainElement) -> dict[str, Any]:
    return {
        "subject": element.subject,
        "issuer": element.issuer,
        "serial": element.serial_hex,
        "not_after": iso(element.not_after),
        "fingerprint_sha256": element.fingerprint_sha256,
    }


def validation_dict(report: ValidationReport) -> Report:
    return {
        "indication": report.indication.value,
        "sub_indication": report.sub_indication.value if report.sub_indication else None,
        "reason": report.reason.value,
        "validation_time": iso(report.validation_time),
        "jurisdiction": report.jurisdiction.value if report.jurisdiction else None,
        "trust_service": text(report.trust_service),
        "policies": sorted(report.policies),
        "chain": [_element(e) for e in report.chain],
        "messages": [text(report.message)],
        "detail": report.detail,
        "warnings": list(report.warnings),
    }


def signature_dict(report: SignatureReport) -> Report:
    at_signing = validation_dict(report.at_signing_time) if report.at_signing_time else None
    at_now = validation_dict(report.at_verification_time) if report.at_verification_time else None
    return {
        "indication": report.indication.value,
        "sub_indication": report.sub_indication.value if report.sub_indication else None,
        "reason": report.reason.value,
        "signature_valid": report.signature_valid,
        "claimed_signing_time": iso(report.signing_time),
        "verification_time": at_now["validation_time"] if at_now else None,
        "signer_fingerprint_sha256": report.signer_fingerprint_sha256 or None,
        "digest_algorithm": report.digest_algorithm or None,
        "signature_algorithm": report.signature_algorithm or None,
        "messages": [text(report.message)],
        "detail": report.detail,
        "at_signing_time": at_signing,
        "at_verification_time": at_now,
        "proven_signing_time": iso(report.proven_signing_time),
        "level": report.level.value,
        "timestamps": [timestamp_dict(t) for t in report.timestamps],
        "archive_timestamps": [timestamp_dict(t) for t in report.archive_timestamps],
    }


def timestamp_dict(report: TimestampReport) -> Report:
    return {
        "trusted": report.trusted,
        "reason": report.reason.value,
        "gen_time": iso(report.gen_time),
        "tsa_subject": report.tsa_subject or None,
        "tsa_fingerprint_sha256": report.tsa_fingerprint_sha256 or None,
        "tsa_service": text(report.tsa_name),
        "jurisdiction": report.jurisdiction.value if report.jurisdiction else None,
        "messages": [text(report.message)],
        "detail": report.detail,
    }


# --- the identity service's protobuf reports --------------------------------------------------


def _enum_name(enum: Any, value: int, prefix: str) -> str | None:
    name = str(enum.Name(value))
    return None if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix)


def _timestamp(message: Any, field: str) -> str | None:
    if not message.HasField(field):
        return None
    return iso(getattr(message, field).ToDatetime(tzinfo=UTC))


def _reason_of(messages: list[dict[str, str]]) -> str | None:
    """The reason code whose message the service sent, for a service that sends no reason."""
    for message in messages:
        for reason, known in MESSAGES.items():
            if known.en == message["en"]:
                return reason
    return None


def _proto_element(ref: Any, index: int, subject: Any) -> dict[str, Any]:
    """A chain element: from the DER if the service sent it, else the leaf from the subject summary."""
    if ref.der:
        from asn1crypto import x509

        from services.identity.adapters import certinfo

        try:
            return {
                **_element(certinfo.chain_element(x509.Certificate.load(ref.der))),
                "fingerprint_sha256": ref.sha256_fingerprint,
            }
        except (ValueError, TypeError, KeyError):
            pass
    leaf = index == 0 and subject.subject_dn
    return {
        "subject": subject.subject_dn if leaf else None,
        "issuer": subject.issuer_dn if leaf else None,
        "serial": subject.certificate_serial_number if leaf else None,
        "not_after": _timestamp(subject, "not_after") if leaf else None,
        "fingerprint_sha256": ref.sha256_fingerprint,
    }


def validation_from_proto(report: Any) -> Report:
    from baylink.common.v1 import common_pb2
    from baylink.identity.v1 import validation_pb2

    messages = [{"zh-Hant": m.zh_hant, "zh-Hans": m.zh_hans, "en": m.en} for m in report.messages]
    return {
        "indication": _enum_name(validation_pb2.Indication, report.indication, "INDICATION_"),
        "sub_indication": _enum_name(validation_pb2.SubIndication, report.sub_indication, "SUB_INDICATION_"),
        "reason": report.reason or _reason_of(messages),
        "validation_time": _timestamp(report, "validation_time"),
        "jurisdiction": _enum_name(common_pb2.Jurisdiction, report.jurisdiction, "JURISDICTION_"),
        "trust_service": None,
        "authority_id": report.authority_id or None,
        "policies": [oid for oid in report.matched_policy_oid.split(",") if oid],
        "chain": [_proto_element(ref, i, report.subject) for i, ref in enumerate(report.chain)],
        "messages": messages,
        "detail": report.detail,
        "warnings": list(report.warnings),
    }


def signature_from_proto(response: Any) -> Report:
    from baylink.identity.v1 import validation_pb2

    overall = validation_from_proto(response.report)
    at_signing = validation_from_proto(response.at_signing_time) if response.HasField("at_signing_time") else None
    at_now = validation_from_proto(response.at_verification_time) if response.HasField("at_verification_time") else None
    algorithm = _enum_name(validation_pb2.SignatureAlgorithm, response.algorithm, "SIGNATURE_ALGORITHM_")
    return {
        "indication": overall["indication"],
        "sub_indication": overall["sub_indication"],
        "reason": overall["reason"],
        "signature_valid": response.signature_valid,
        "claimed_signing_time": _timestamp(response, "claimed_signing_time"),
        "verification_time": (at_now or overall)["validation_time"],
        "signer_fingerprint_sha256": response.signer_certificate_fingerprint or None,
        "digest_algorithm": None,  # the client chose it from the signature; see `cli_online`
        "signature_algorithm": algorithm,
        "messages": overall["messages"],
        "detail": overall["detail"],
        "at_signing_time": at_signing,
        "at_verification_time": at_now,
        "proven_signing_time": _timestamp(response, "proven_signing_time"),
        "level": (_enum_name(validation_pb2.SignatureLevel, response.level, "SIGNATURE_LEVEL_") or "").replace("_", "-")
        or None,
        "timestamps": [_timestamp_from_proto(t) for t in response.timestamps],
    }


def _timestamp_from_proto(stamp: Any) -> Report:
    from baylink.common.v1 import common_pb2

    name = stamp.tsa_name if stamp.HasField("tsa_name") else None
    return {
        "trusted": stamp.trusted,
        "reason": stamp.reason or None,
        "gen_time": _timestamp(stamp, "gen_time"),
        "tsa_subject": stamp.tsa_subject_dn or None,
        "tsa_fingerprint_sha256": stamp.tsa_certificate_fingerprint or None,
        "tsa_service": {"zh-Hant": name.zh_hant, "zh-Hans": name.zh_hans, "en": name.en} if name else None,
        "jurisdiction": _enum_name(common_pb2.Jurisdiction, stamp.jurisdiction, "JURISDICTION_"),
        "messages": [{"zh-Hant": m.zh_hant, "zh-Hans": m.zh_hans, "en": m.en} for m in stamp.messages],
        "detail": stamp.detail,
    }
