"""Signature time-stamp reports and signature levels as the contract carries them."""

from __future__ import annotations

from baylink.common.v1 import common_pb2
from baylink.identity.v1 import validation_pb2 as pb
from baylink.runtime.timestamps import set_timestamp
from services.identity.domain.report import SignatureLevel, TimestampReport
from services.identity.domain.trustlist import Jurisdiction

LEVELS = {
    SignatureLevel.B_B: pb.SIGNATURE_LEVEL_B_B,
    SignatureLevel.B_T: pb.SIGNATURE_LEVEL_B_T,
    SignatureLevel.B_LT: pb.SIGNATURE_LEVEL_B_LT,
    SignatureLevel.B_LTA: pb.SIGNATURE_LEVEL_B_LTA,
}
_JURISDICTIONS = {
    Jurisdiction.HK: common_pb2.JURISDICTION_HK,
    Jurisdiction.MO: common_pb2.JURISDICTION_MO,
    Jurisdiction.GD: common_pb2.JURISDICTION_GD,
}


def timestamp_report(t: TimestampReport) -> pb.TimestampReport:
    message = pb.TimestampReport(
        tsa_certificate_fingerprint=t.tsa_fingerprint_sha256,
        tsa_subject_dn=t.tsa_subject,
        jurisdiction=_JURISDICTIONS[t.jurisdiction] if t.jurisdiction else common_pb2.JURISDICTION_UNSPECIFIED,
        trusted=t.trusted,
        reason=t.reason.value,
        messages=[_localized(t.message.zh_hant, t.message.zh_hans, t.message.en)],
        detail=t.detail,
    )
    if t.tsa_name is not None:
        message.tsa_name.CopyFrom(_localized(t.tsa_name.zh_hant, t.tsa_name.zh_hans, t.tsa_name.en))
    if t.gen_time is not None:
        set_timestamp(message.gen_time, t.gen_time)
    return message


def _localized(zh_hant: str, zh_hans: str, en: str) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(zh_hant=zh_hant, zh_hans=zh_hans, en=en)
