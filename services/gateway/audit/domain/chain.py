"""The audit log's model: entries chained by SHA-256, and signed checkpoints of the chain's head.

Each record's hash covers every field of the record and the previous record's hash, so
editing, removing or moving a record breaks the chain at that point. A checkpoint signs
(sequence, head hash, counts, times) so that a chain rewritten from some point on is still
caught at the next checkpoint, and a copy of the checkpoint outside the database (the
``audit.checkpointed`` event on Kafka) anchors the log against wholesale replacement.

The head row (newest sequence and hash) is signed too, at every commit: records after the last
checkpoint are covered by it, and cutting records off the end means moving the head back.

The encoding that is hashed and signed is length-prefixed UTF-8 fields behind a version tag:
unambiguous (no field can run into the next) and easy to reimplement in an independent verifier.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from baylink import errors

GENESIS_HASH = "0" * 64  # prev_hash of the first record
RECORD_TAG = b"baylink.gateway.audit.record.v1"
CHECKPOINT_TAG = b"baylink.gateway.audit.checkpoint.v1"
HEAD_TAG = b"baylink.gateway.audit.head.v1"
MAX_DETAILS_BYTES = 2048
DetailValue = str | int | bool | None

_ACTOR = re.compile(r"^[a-z][a-z0-9_-]{0,19}(:[A-Za-z0-9._-]{1,64})?$")
_WORD = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
# A safety net, not a proof: shapes of raw identity numbers (HKID, Macau ID with its bracketed
# check digit, travel permits, GB 11643 numbers with a plausible birth date) must never reach the
# log. Subjects are pseudonyms, and details must not smuggle numbers in. UUIDs are removed before
# matching, since their hex groups can look like an HKID.
_IDENTITY_NUMBER = re.compile(
    r"(?<![A-Z0-9])("
    r"[A-Z]{1,2}\d{6}\(?[0-9A]\)?"
    r"|[157]\d{6}\(\d\)"
    r"|[HM]\d{8}(\d{2})?|[HM]A\d{7}"
    r"|\d{6}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]"
    r")(?![A-Z0-9])"
)
_UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


@dataclass(frozen=True)
class AuditEntry:
    """What is appended: who did what, to which subject (a pseudonym), with what result."""

    actor: str
    action: str
    result: str
    subject: str = ""
    correlation_id: str = ""
    details: Mapping[str, DetailValue] = field(default_factory=dict)
    # The canonical JSON of ``details`` as it stood when the entry was made (what is stored and hashed).
    details_json: str = field(init=False, default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _ACTOR.match(self.actor):
            raise errors.InvalidInput.field("actor", "must be kind or kind:id, e.g. city:440605, kiosk:HK-TST-01")
        for name in ("action", "result"):
            if not _WORD.match(getattr(self, name)):
                raise errors.InvalidInput.field(name, "1-100 characters of letters, digits and _.:/-")
        if len(self.correlation_id) > 64:
            raise errors.InvalidInput.field("correlation_id", "at most 64 characters")
        check_subject(self.subject)
        object.__setattr__(self, "details_json", details_text(self.details))  # validated and encoded once


@dataclass(frozen=True)
class AuditRecord:
    """An entry as stored: numbered, timed and chained. Hashes are lowercase hex."""

    sequence: int
    recorded_at: datetime
    actor: str
    action: str
    subject: str
    result: str
    correlation_id: str
    details: str  # canonical JSON text, hashed as stored
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash this record's fields call for (equal to ``hash`` unless it was altered)."""
        return record_hash(
            str(self.sequence), iso(self.recorded_at), self.actor, self.action, self.subject,
            self.result, self.correlation_id, self.details, self.prev_hash,
        )  # fmt: skip


@dataclass(frozen=True)
class ChainHead:
    """The newest record's sequence and hash, and where the last checkpoint stands."""

    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    last_recorded_at: datetime | None = None
    checkpoint_sequence: int = 0
    pending_since: datetime | None = None  # time of the first record not yet checkpointed
    # The audit key's signature over all of the above: the head row cannot be moved back (records cut
    # off the end) or forward (records rewritten after the last checkpoint) by anyone but the gateway.
    key_id: str = ""
    signature: str = ""  # hex; empty only on the genesis head, which no append has signed yet

    def message(self) -> bytes:
        """The bytes that are signed."""
        return encode(
            HEAD_TAG,
            str(self.last_sequence),
            self.last_hash,
            "" if self.last_recorded_at is None else iso(self.last_recorded_at),
            str(self.checkpoint_sequence),
            "" if self.pending_since is None else iso(self.pending_since),
            self.key_id,
        )

    @property
    def genesis(self) -> bool:
        """The head of an empty log, as the migration made it."""
        return self.last_sequence == 0 and self.checkpoint_sequence == 0 and self.last_hash == GENESIS_HASH

    def after(self, records: list[AuditRecord]) -> ChainHead:
        """The head once ``records`` (just chained onto this head) are stored."""
        if not records:
            return self
        last = records[-1]
        since = self.pending_since or records[0].recorded_at
        return replace(self, last_sequence=last.sequence, last_hash=last.hash, last_recorded_at=last.recorded_at,
                       pending_since=since)  # fmt: skip


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain up to ``sequence`` ends in ``head_hash``."""

    sequence: int
    head_hash: str
    created_at: datetime
    record_count: int  # records since the previous checkpoint
    first_record_time: datetime
    last_record_time: datetime
    key_id: str
    signature: str = ""  # hex

    def message(self) -> bytes:
        """The bytes that are signed."""
        return encode(
            CHECKPOINT_TAG,
            str(self.sequence),
            self.head_hash,
            iso(self.created_at),
            str(self.record_count),
            iso(self.first_record_time),
            iso(self.last_record_time),
            self.key_id,
        )


@dataclass(frozen=True)
class CheckpointPolicy:
    """Checkpoint after ``every_records`` records, or ``every_seconds`` after the last one if records came."""

    every_records: int = 1000
    every_seconds: float = 60.0

    def due(self, head: ChainHead, now: datetime) -> bool:
        pending = head.last_sequence - head.checkpoint_sequence
        if pending <= 0:
            return False
        if pending >= self.every_records or head.pending_since is None:
            return True
        return (now - head.pending_since).total_seconds() >= self.every_seconds


def chain(head: ChainHead, entries: list[AuditEntry], now: datetime) -> list[AuditRecord]:
    """Number, time and hash ``entries`` after ``head``, in order."""
    records: list[AuditRecord] = []
    prev, sequence = head.last_hash, head.last_sequence
    if head.last_recorded_at is not None:  # times never run backwards along the chain, whatever the clock does
        now = max(aware(now), aware(head.last_recorded_at))
    when = iso(now)  # one batch, one time: formatted once
    for entry in entries:
        sequence += 1
        text = (entry.actor, entry.action, entry.subject, entry.result, entry.correlation_id, entry.details_json)
        digest = record_hash(str(sequence), when, *text, prev)
        records.append(AuditRecord(sequence, now, *text, prev, digest))
        prev = digest
    return records


def record_hash(*fields: str) -> str:
    """SHA-256 (hex) over the record's fields as text, in column order, ending with ``prev_hash``."""
    return hashlib.sha256(encode(RECORD_TAG, *fields)).hexdigest()


def encode(tag: bytes, *fields: str) -> bytes:
    """``tag`` then each field as a 4-byte big-endian length and its UTF-8 bytes."""
    parts = [len(tag).to_bytes(4, "big"), tag]
    for value in fields:
        raw = value.encode()
        parts += [len(raw).to_bytes(4, "big"), raw]
    return b"".join(parts)


def aware(moment: datetime) -> datetime:
    """Aware UTC. A naive value (SQLite hands those back) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """Aware UTC, microseconds, ``Z``."""
    return aware(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(kw_only=True)
class AuditNotes:
    """The facts one call gathers for its audit record (kiosk and partner calls both extend this)."""

    details: dict[str, DetailValue] = field(default_factory=dict)

    def note(self, **details: DetailValue) -> None:
        """Facts for the audit record (ids, counts, outcomes; never personal data). Checked now, before any effect."""
        details_text({**self.details, **details})
        self.details.update(details)


def details_text(details: Mapping[str, DetailValue]) -> str:
    """Canonical JSON of small, flat details; InvalidInput for anything else."""
    for key, value in details.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str | int | bool)):
            raise errors.InvalidInput.field("details", "a flat object of strings, integers, booleans or null")
        if isinstance(value, str) and contains_identity_number(value):
            raise errors.InvalidInput.field(f"details.{key}", "must not carry an identity number")
    text = json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > MAX_DETAILS_BYTES:
        raise errors.InvalidInput.field("details", f"at most {MAX_DETAILS_BYTES} bytes")
    return text


def check_subject(pseudonym: str, field: str = "subject") -> str:
    """A pseudonym fit for the log (≤ 128 characters, not shaped like an identity number), or InvalidInput."""
    if len(pseudonym) > 128:
        raise errors.InvalidInput.field(field, "at most 128 characters")
    if contains_identity_number(pseudonym):
        raise errors.InvalidInput.field(field, "must be a pseudonym, never an identity number")
    return pseudonym


def contains_identity_number(text: str) -> bool:
    upper = _UUID.sub("-", text.upper())
    return bool(_IDENTITY_NUMBER.search(upper))
