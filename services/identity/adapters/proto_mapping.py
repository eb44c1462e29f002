"""Protobuf ⇄ identity domain, at the edge: requests to commands, reports and lists to messages.

Kept in one module although over 300 lines: every message of the identity contract is mapped
here, and the report templates it shares between them would otherwise be imported in circles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from baylink.common.v1 import common_pb2
from baylink.i18n import LocalText
from baylink.identity.v1 import identity_service_pb2 as api
from baylink.identity.v1 import trust_list_pb2 as tl_pb
from baylink.identity.v1 import validation_pb2 as pb
from baylink.runtime.timestamps import set_timestamp
from baylink.runtime.timestamps import to_timestamp as timestamp
from services.identity.adapters.policy_mapping import key_purpose, max_revocation_age
from services.identity.adapters.proto_timestamps import LEVELS, timestamp_report
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import RevocationMode, ValidationPolicy
from services.identity.domain.report import Indication, SignatureReport, SubIndication, ValidationReport
from services.identity.domain.trustlist import Jurisdiction, ServiceStatus, TrustList, TrustService

JURISDICTIONS = {
    Jurisdiction.HK: common_pb2.JURISDICTION_HK,
    Jurisdiction.MO: common_pb2.JURISDICTION_MO,
    Jurisdiction.GD: common_pb2.JURISDICTION_GD,
}
JURISDICTION_OF = {v: k for k, v in JURISDICTIONS.items()}
DIGESTS = {
    pb.DIGEST_ALGORITHM_SHA256: "sha256",
    pb.DIGEST_ALGORITHM_SHA384: "sha384",
    pb.DIGEST_ALGORITHM_SHA512: "sha512",
    pb.DIGEST_ALGORITHM_SM3: "sm3",
}
DIGEST_OF = {v: k for k, v in DIGESTS.items()}
SIGNATURES = {
    pb.SIGNATURE_ALGORITHM_RSA_PKCS1V15: "rsa-pkcs1v15",
    pb.SIGNATURE_ALGORITHM_RSA_PSS: "rsa-pss",
    pb.SIGNATURE_ALGORITHM_ECDSA_P256: "ecdsa",
    pb.SIGNATURE_ALGORITHM_ECDSA_P384: "ecdsa",
    pb.SIGNATURE_ALGORITHM_ED25519: "ed25519",
    pb.SIGNATURE_ALGORITHM_SM2_SM3: "sm2",
}
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"


def moment(ts: Timestamp, has: bool, field: str = "timestamp") -> datetime | None:
    """The moment, if given; InvalidInput naming the field for one no calendar holds (e.g. year 141338)."""
    if not has:
        return None
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(field, "out_of_range", "a timestamp between the years 1 and 9999") from None


def localized(text: LocalText) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(zh_hant=text.zh_hant, zh_hans=text.zh_hans, en=text.en)


def policy(message: pb.ValidationPolicy, deadline_seconds: float, *, hard_fail: bool = True) -> ValidationPolicy:
    """The caller's policy; revocation is hard-fail for signatures, as the scheme requires. Most
    callers leave it empty: that policy is made once per deadline and mode (it is immutable, and
    its chain-cache key is then computed once, not per call)."""
    if message.ByteSize() == 0:
        key = (deadline_seconds, hard_fail)
        default = _DEFAULT_POLICIES.get(key)
        if default is None:
            default = _DEFAULT_POLICIES[key] = _policy(message, deadline_seconds, hard_fail)
        return default
    return _policy(message, deadline_seconds, hard_fail)


_DEFAULT_POLICIES: dict[tuple[float, bool], ValidationPolicy] = {}


def _policy(message: pb.ValidationPolicy, deadline_seconds: float, hard_fail: bool) -> ValidationPolicy:
    places = frozenset(_jurisdiction(j, "policy.jurisdictions") for j in message.jurisdictions) or None
    oids = frozenset(message.acceptable_policy_oids) or None
    for oid in oids or ():
        if not all(part.isdigit() for part in oid.split(".")) or oid.count(".") < 1:
            raise InvalidInput("policy.acceptable_policy_oids", "not_an_oid", f"{oid!r} is not a dotted OID")
    mode = RevocationMode.HARD_FAIL if hard_fail else RevocationMode.SOFT_FAIL
    return ValidationPolicy(
        revocation_mode=mode,
        requested_policies=oids,
        jurisdictions=places,
        deadline_seconds=deadline_seconds,
        key_purpose=key_purpose(message.key_purpose),
        max_revocation_age=max_revocation_age(message),
    )


def _jurisdiction(value: int, field: str) -> Jurisdiction:
    try:
        return JURISDICTION_OF[value]
    except KeyError:
        raise InvalidInput(field, "unknown_jurisdiction", "must be HK, MO or GD") from None


def digest_algorithm(value: int) -> str:
    if value not in DIGESTS:
        raise InvalidInput("digest_algorithm", "unspecified", "name the digest algorithm of document_digest")
    return DIGESTS[value]


def signature_algorithm(value: int) -> str:
    if value not in SIGNATURES:
        raise InvalidInput("raw_signature.algorithm", "unspecified", "name the signature algorithm")
    return SIGNATURES[value]


def indication(value: Indication) -> pb.Indication.ValueType:
    number = _INDICATIONS.get(value)
    if number is None:
        number = _INDICATIONS[value] = pb.Indication.Value(f"INDICATION_{value.value}")
    return number


def sub_indication(value: SubIndication | None) -> pb.SubIndication.ValueType:
    if not value:
        return pb.SUB_INDICATION_UNSPECIFIED
    number = _SUB_INDICATIONS.get(value)
    if number is None:
        number = _SUB_INDICATIONS[value] = pb.SubIndication.Value(f"SUB_INDICATION_{value.value}")
    return number


_INDICATIONS: dict[Indication, pb.Indication.ValueType] = {}
_SUB_INDICATIONS: dict[SubIndication, pb.SubIndication.ValueType] = {}


class _Templates:
    """Report messages built once per chain result and copied after.

    A signer's reports differ only in their validation time while its chain result is cached
    (chain_cache.at_moment shares everything else), yet building the messages field by field
    was a large share of a verification (figures in docs/performance.md). A template is keyed by the identity of
    the report's chain tuple, which the entry holds (so the id cannot be reused while it is
    there), and by the report's other fields, which are compared; it never carries a time that
    differs between reports. Bounded: the oldest templates are dropped first.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: dict[tuple[int, tuple[object, ...]], tuple[object, pb.ValidationReport]] = {}

    def get(
        self, anchor: object, fields: tuple[object, ...], build: Callable[[], pb.ValidationReport]
    ) -> pb.ValidationReport:
        key = (id(anchor), fields)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is anchor:
            return entry[1]
        template = build()
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (anchor, template)
        return template


_templates = _Templates()


def report(r: ValidationReport) -> pb.ValidationReport:
    message = pb.ValidationReport()
    fill_report(message, r)
    return message


def fill_report(message: pb.ValidationReport, r: ValidationReport) -> None:
    """Write ``r`` into ``message`` (empty): the chain result's template, then the time."""
    fields = (r.indication, r.sub_indication, r.reason, r.jurisdiction, r.policies, r.detail, r.warnings)
    message.CopyFrom(_templates.get(r.chain, fields, lambda: _report_template(r)))
    set_timestamp(message.validation_time, r.validation_time)


def _report_template(r: ValidationReport) -> pb.ValidationReport:
    message = pb.ValidationReport(
        indication=indication(r.indication),
        sub_indication=sub_indication(r.sub_indication),
        chain=[pb.CertificateRef(sha256_fingerprint=e.fingerprint_sha256) for e in r.chain],
        jurisdiction=JURISDICTIONS.get(r.jurisdiction, 0) if r.jurisdiction else 0,
        messages=[localized(r.message)],
        matched_policy_oid=",".join(sorted(r.policies)),
        authority_id=r.chain[-1].fingerprint_sha256 if r.jurisdiction and r.chain else "",
        reason=r.reason.value,
        warnings=list(r.warnings),
        detail=r.detail,
    )
    if r.chain:
        leaf = r.chain[0]
        message.subject.CopyFrom(
            pb.SubjectSummary(
                subject_dn=leaf.subject,
                issuer_dn=leaf.issuer,
                certificate_serial_number=leaf.serial_hex,
                not_after=timestamp(leaf.not_after),
                policy_oids=sorted(r.policies),
            )
        )
    return message


def signature_response(r: SignatureReport, include_validation_data: bool = False) -> api.VerifySignatureResponse:
    response = api.VerifySignatureResponse()
    fill_signature_response(response, r, include_validation_data)
    return response


def fill_signature_response(
    response: api.VerifySignatureResponse, r: SignatureReport, include_validation_data: bool = False
) -> None:
    """Write ``r`` into ``response`` (empty). The overall report is the signature's outcome; its
    chain, jurisdiction, subject and time come from the certificate's validation (at
    verification time, or at signing time when that is all there is)."""
    full = r.at_verification_time if r.at_verification_time is not None else r.at_signing_time
    fields = (r.indication, r.sub_indication, r.reason, r.detail)
    if full is not None:
        fields += (full.indication, full.sub_indication, full.reason, full.jurisdiction, full.policies, full.warnings)
    response.report.CopyFrom(_templates.get(full.chain if full else None, fields, lambda: _overall_template(r, full)))
    if full is not None:
        set_timestamp(response.report.validation_time, full.validation_time)
    if r.signing_time is not None:
        set_timestamp(response.claimed_signing_time, r.signing_time)
    response.algorithm = algorithm_enum(r)  # type: ignore[assignment]  # a SignatureAlgorithm number
    response.signature_valid = r.signature_valid
    response.signer_certificate_fingerprint = r.signer_fingerprint_sha256
    if r.at_signing_time is not None:
        fill_report(response.at_signing_time, r.at_signing_time)
    if r.at_verification_time is not None:
        fill_report(response.at_verification_time, r.at_verification_time)
    if r.proven_signing_time is not None:
        set_timestamp(response.proven_signing_time, r.proven_signing_time)
    if r.timestamps:
        response.timestamps.extend(timestamp_report(t) for t in r.timestamps)
    response.level = LEVELS[r.level]  # type: ignore[assignment]  # a SignatureLevel number
    data = r.validation_data if include_validation_data else None
    if data is not None:
        response.validation_data.certificates.extend(data.certificates)
        response.validation_data.ocsp_responses.extend(data.ocsp_responses)
        response.validation_data.crls.extend(data.crls)


def _overall_template(r: SignatureReport, full: ValidationReport | None) -> pb.ValidationReport:
    overall = pb.ValidationReport(
        indication=indication(r.indication),
        sub_indication=sub_indication(r.sub_indication),
        messages=[localized(r.message)],
        reason=r.reason.value,
        detail=r.detail,
    )
    if full is not None:
        chain = _report_template(full)
        for name in ("chain", "subject", "warnings"):
            getattr(overall, name).MergeFrom(getattr(chain, name))
        overall.jurisdiction = chain.jurisdiction
        overall.authority_id = chain.authority_id
        overall.matched_policy_oid = chain.matched_policy_oid
    return overall


def algorithm_enum(r: SignatureReport) -> int:
    """The algorithm as a raw request names it, or as asn1crypto names a CMS SignerInfo's."""
    name = r.signature_algorithm.lower()
    if name in ("sm2", SM2_WITH_SM3_OID) or r.digest_algorithm == "sm3":
        return pb.SIGNATURE_ALGORITHM_SM2_SM3
    if "pss" in name:
        return pb.SIGNATURE_ALGORITHM_RSA_PSS
    if "ecdsa" in name:  # the scheme pairs P-384 with SHA-384 and P-256 with SHA-256
        p384 = r.digest_algorithm in ("sha384", "sha512")
        return pb.SIGNATURE_ALGORITHM_ECDSA_P384 if p384 else pb.SIGNATURE_ALGORITHM_ECDSA_P256
    if "ed25519" in name:
        return pb.SIGNATURE_ALGORITHM_ED25519
    if "rsa" in name:
        return pb.SIGNATURE_ALGORITHM_RSA_PKCS1V15
    return pb.SIGNATURE_ALGORITHM_UNSPECIFIED


def trust_list(t: TrustList, digest: bytes, signer_fingerprint: str) -> tl_pb.TrustList:
    return tl_pb.TrustList(
        jurisdiction=JURISDICTIONS[t.jurisdiction],
        sequence_number=t.sequence_number,
        issue_date=timestamp(t.issue_date),
        next_update=timestamp(t.next_update),
        scheme_operator=localized(t.scheme_operator),
        authorities=[authority(t, s, datetime.now(UTC)) for s in t.services],
        digest=digest,
        signer=pb.CertificateRef(sha256_fingerprint=signer_fingerprint),
    )


def authority(t: TrustList, s: TrustService, now: datetime) -> tl_pb.RecognisedAuthority:
    status = s.status_at(now)
    return tl_pb.RecognisedAuthority(
        authority_id=s.fingerprint_sha256,
        name=localized(s.name),
        jurisdiction=JURISDICTIONS[t.jurisdiction],
        certificate=pb.CertificateRef(sha256_fingerprint=s.fingerprint_sha256, der=s.certificate_der),
        status=_status(status),
        history=[
            tl_pb.AuthorityStatusChange(status=_status(change.status), effective_from=timestamp(change.since))
            for change in s.status_history
        ],
        recognised_policy_oids=sorted(s.recognised_policies),
    )


def _status(status: ServiceStatus | None) -> int:
    if status is ServiceStatus.GRANTED:
        return tl_pb.AUTHORITY_STATUS_GRANTED
    if status is ServiceStatus.WITHDRAWN:
        return tl_pb.AUTHORITY_STATUS_WITHDRAWN
    return tl_pb.AUTHORITY_STATUS_UNSPECIFIED


def jurisdiction_filter(value: int, field: str = "jurisdiction") -> Jurisdiction | None:
    return None if value == common_pb2.JURISDICTION_UNSPECIFIED else _jurisdiction(value, field)
