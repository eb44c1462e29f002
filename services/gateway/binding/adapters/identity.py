"""The identity service's validation report → the ``CertificateFacts`` binding needs.

The report (``baylink.identity.v1.ValidationReport``) names the certificate by the first chain
element (the end entity) and its subject by the common name. It carries no date of birth: the
caller passes the one it read from the certificate (e.g. a subject-directory ``dateOfBirth``
attribute), or None, in which case binding needs ``BindingPolicy(allow_name_only=True)``.
"""

from __future__ import annotations

from datetime import date

from baylink.common.v1 import common_pb2
from baylink.identity.v1 import validation_pb2
from services.gateway.binding.domain.model import CertificateFacts

_JURISDICTIONS = {common_pb2.JURISDICTION_HK: "HK", common_pb2.JURISDICTION_MO: "MO", common_pb2.JURISDICTION_GD: "GD"}
_INDICATION_PREFIX = "INDICATION_"


def certificate_facts(report: validation_pb2.ValidationReport, date_of_birth: date | None = None) -> CertificateFacts:
    """Facts of a validation report. An empty chain gives an empty fingerprint, which binding refuses."""
    name = validation_pb2.Indication.Name(report.indication)
    return CertificateFacts(
        fingerprint=report.chain[0].sha256_fingerprint if report.chain else "",
        jurisdiction=_JURISDICTIONS.get(report.jurisdiction, ""),
        indication=name.removeprefix(_INDICATION_PREFIX),
        common_name=report.subject.common_name,
        date_of_birth=date_of_birth,
    )
