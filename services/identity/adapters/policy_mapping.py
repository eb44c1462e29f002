"""The caller's key purpose and revocation freshness, from the contract's ValidationPolicy."""

from __future__ import annotations

from datetime import timedelta

from baylink.identity.v1 import validation_pb2 as pb
from services.identity.domain.errors import InvalidInput
from services.identity.domain.policy import KeyPurpose

_KEY_PURPOSES = {
    pb.KEY_PURPOSE_UNSPECIFIED: KeyPurpose.DOCUMENT_SIGNING,
    pb.KEY_PURPOSE_DOCUMENT_SIGNING: KeyPurpose.DOCUMENT_SIGNING,
    pb.KEY_PURPOSE_CLIENT_AUTH: KeyPurpose.CLIENT_AUTH,
    pb.KEY_PURPOSE_TIME_STAMPING: KeyPurpose.TIME_STAMPING,
}
MAX_REVOCATION_AGE_LIMIT = timedelta(days=31)


def key_purpose(value: int) -> KeyPurpose:
    try:
        return _KEY_PURPOSES[value]
    except KeyError:
        raise InvalidInput("policy.key_purpose", "unknown_key_purpose", f"unknown key purpose {value}") from None


def max_revocation_age(message: pb.ValidationPolicy) -> timedelta | None:
    if not message.HasField("max_revocation_age"):
        return None
    duration = message.max_revocation_age
    if not 0 <= duration.nanos < 1_000_000_000:
        raise InvalidInput("policy.max_revocation_age", "out_of_range", "nanos must be within 0..999999999")
    if not 0 <= duration.seconds <= MAX_REVOCATION_AGE_LIMIT.total_seconds():  # before timedelta can overflow
        raise InvalidInput("policy.max_revocation_age", "out_of_range", "must be positive and at most 31 days")
    age = timedelta(seconds=duration.seconds, microseconds=duration.nanos // 1000)
    if not timedelta(0) < age <= MAX_REVOCATION_AGE_LIMIT:
        raise InvalidInput("policy.max_revocation_age", "out_of_range", "must be positive and at most 31 days")
    return age
