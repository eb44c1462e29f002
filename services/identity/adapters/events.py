"""Identity's events: fingerprints, jurisdictions and outcomes, never who the certificate names."""

from __future__ import annotations

import hashlib

from baylink.events.v1 import identity_events_pb2 as ev
from baylink.runtime.events import CloudEvent, EventTypes
from services.identity.adapters import proto_mapping as m
from services.identity.domain.report import SignatureReport, ValidationReport
from services.identity.domain.trustlist import ServiceStatus, TrustList


class IdentityEvents:
    def __init__(self, types: EventTypes, source: str):
        self.types = types
        self.source = source

    def certificate_validated(self, fingerprint: str, report: ValidationReport) -> CloudEvent:
        message = ev.CertificateValidated(
            certificate_fingerprint=fingerprint,
            jurisdiction=m.JURISDICTIONS.get(report.jurisdiction, 0) if report.jurisdiction else 0,
            indication=m.indication(report.indication),
            sub_indication=m.sub_indication(report.sub_indication),
            validation_time=m.timestamp(report.validation_time),
            authority_id=report.chain[-1].fingerprint_sha256 if report.jurisdiction and report.chain else "",
        )
        return self.types.new(message, subject=fingerprint, source=self.source)

    def signature_verified(self, report: SignatureReport, document_digest: bytes) -> CloudEvent:
        basis = report.at_verification_time or report.at_signing_time
        jurisdiction = basis.jurisdiction if basis else None
        message = ev.SignatureVerified(
            signer_certificate_fingerprint=report.signer_fingerprint_sha256,
            jurisdiction=m.JURISDICTIONS.get(jurisdiction, 0) if jurisdiction else 0,
            indication=m.indication(report.indication),
            sub_indication=m.sub_indication(report.sub_indication),
            algorithm=m.algorithm_enum(report),
            document_digest=document_digest,
            digest_algorithm=m.DIGEST_OF.get(report.digest_algorithm, 0),
            claimed_signing_time=m.timestamp(report.signing_time),
        )
        subject = report.signer_fingerprint_sha256 or hashlib.sha256(document_digest).hexdigest()
        return self.types.new(message, subject=subject, source=self.source)

    def trust_list_updated(self, trust_list: TrustList, digest: bytes) -> CloudEvent:
        message = ev.TrustListUpdated(
            jurisdiction=m.JURISDICTIONS[trust_list.jurisdiction],
            sequence_number=trust_list.sequence_number,
            issue_date=m.timestamp(trust_list.issue_date),
            digest=digest,
            next_update=m.timestamp(trust_list.next_update),
            granted_authority_count=sum(
                1 for s in trust_list.services if s.status_at(trust_list.issue_date) is ServiceStatus.GRANTED
            ),
        )
        return self.types.new(message, subject=f"trustlist/{trust_list.jurisdiction.value}", source=self.source)
