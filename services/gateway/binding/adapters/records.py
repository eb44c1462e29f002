"""Sealing a person record into a ``bindings`` row and opening it again.

Each sealed value is bound to its column and row (``gateway.bindings/<column>/<subject id>``),
so a ciphertext moved to another column or another person's row fails to open.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from baylink import ids
from services.gateway.binding.domain.model import PersonRecord, SubjectKind, VerifiedDocuments
from services.gateway.shared.adapters.crypto import CiphertextRejected, FieldCipher

_TABLE = "gateway.bindings"


def context(column: str, subject_id: str) -> bytes:
    return f"{_TABLE}/{column}/{subject_id}".encode("ascii")


def _permit_text(documents: VerifiedDocuments) -> str:
    count = documents.travel_permit_issue_count
    return documents.travel_permit + (f"{count:02d}" if count is not None else "")


def sealed_columns(record: PersonRecord, cipher: FieldCipher) -> dict[str, Any]:
    """Every column of the record's row except subject id, version and times, sealed where personal."""

    def seal(column: str, text: str | None) -> bytes | None:
        return None if text is None else cipher.seal_text(text, context(column, record.subject_id))

    docs = record.documents
    name = json.dumps({"zh": record.name_zh, "en": record.name_en}, ensure_ascii=False, sort_keys=True)
    return {
        "subject_kind": record.subject_kind.value,
        "jurisdiction": docs.jurisdiction,
        "subject_number_enc": seal("subject_number_enc", record.subject_number),
        "hkid_enc": seal("hkid_enc", docs.hkid),
        "macau_id_enc": seal("macau_id_enc", docs.macau_id),
        "travel_permit_enc": seal("travel_permit_enc", _permit_text(docs)),
        "residence_permit_enc": seal("residence_permit_enc", docs.residence_permit),
        "name_enc": seal("name_enc", name),
        "dob_enc": seal("dob_enc", record.date_of_birth.isoformat()),
        "key_id": cipher.current_key_id,
    }


def person(row: Any, cipher: FieldCipher) -> PersonRecord:
    """Open a ``bindings`` row; ``CiphertextRejected`` if any sealed value fails to authenticate."""
    subject_id = row.subject_id

    def open_(column: str) -> str | None:
        sealed = getattr(row, column)
        return None if sealed is None else cipher.open_text(bytes(sealed), context(column, subject_id))

    permit = ids.check_travel_permit(open_("travel_permit_enc") or "")
    if not permit.valid or permit.normalised is None:
        raise CiphertextRejected(f"travel permit of {_TABLE}/{subject_id} is not a permit number after opening")
    count = permit.details.get("issue_count")
    names = json.loads(open_("name_enc") or "{}")
    return PersonRecord(
        subject_id=subject_id,
        subject_kind=SubjectKind(row.subject_kind),
        subject_number=open_("subject_number_enc") or "",
        documents=VerifiedDocuments(
            jurisdiction=row.jurisdiction,
            travel_permit=permit.normalised,
            travel_permit_issue_count=int(count) if count is not None else None,
            hkid=open_("hkid_enc"),
            macau_id=open_("macau_id_enc"),
            residence_permit=open_("residence_permit_enc"),
        ),
        name_zh=names.get("zh"),
        name_en=names.get("en"),
        date_of_birth=date.fromisoformat(open_("dob_enc") or ""),
        version=row.version,
    )
