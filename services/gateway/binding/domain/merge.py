"""Re-binding a known person: what a new binding may add to the stored one, and what it may not change.

The subject never changes. Documents the binding lacks are linked (a residence permit obtained
later); a renewed travel permit (same base number, higher issue count) replaces the stored
count; a document that differs from the stored one of its kind, an older permit than the one on
record, or another date of birth is refused. Names are updated to the latest ones a validated
certificate confirmed.
"""

from __future__ import annotations

from dataclasses import replace

from services.gateway.binding.domain.model import DeclaredPerson, PersonRecord, Refusal, VerifiedDocuments, precondition

_LINKABLE = ("hkid", "macau_id", "residence_permit")


def _merge_travel_permit(stored: VerifiedDocuments, new: VerifiedDocuments) -> tuple[int | None, bool]:
    """The issue count to keep, and whether the permit was renewed."""
    if new.travel_permit != stored.travel_permit:
        raise precondition(
            Refusal.DOCUMENT_DIFFERS_FROM_BINDING,
            "documents.travel_permit",
            "this person is bound with another travel permit number",
        )
    old_count, new_count = stored.travel_permit_issue_count, new.travel_permit_issue_count
    if old_count is None or new_count is None:
        return (old_count if new_count is None else new_count), old_count is None and new_count is not None
    if new_count < old_count:
        raise precondition(
            Refusal.TRAVEL_PERMIT_SUPERSEDED,
            "documents.travel_permit",
            "a newer issue of this travel permit is on record; present the current permit",
        )
    return new_count, new_count > old_count


def merge_into(record: PersonRecord, new: VerifiedDocuments, declared: DeclaredPerson) -> tuple[str, ...]:
    """Update ``record`` in place with a new verified binding of the same person.

    Returns what changed (document kinds linked, ``"travel_permit"`` when renewed, ``"name"``).
    Raises FailedPrecondition (DOCUMENT_DIFFERS_FROM_BINDING, TRAVEL_PERMIT_SUPERSEDED,
    DATE_OF_BIRTH_MISMATCH) when the new binding contradicts the stored one.
    """
    stored = record.documents
    if new.jurisdiction != stored.jurisdiction:
        raise precondition(
            Refusal.DOCUMENT_DIFFERS_FROM_BINDING, "documents", "this person is bound with another jurisdiction's card"
        )
    if declared.date_of_birth != record.date_of_birth:
        raise precondition(
            Refusal.DATE_OF_BIRTH_MISMATCH, "declared.date_of_birth", "this person is bound with another date of birth"
        )
    changes: list[str] = []
    updates: dict[str, str] = {}
    for kind in _LINKABLE:
        old, given = getattr(stored, kind), getattr(new, kind)
        if given is None or given == old:
            continue
        if old is not None:
            raise precondition(
                Refusal.DOCUMENT_DIFFERS_FROM_BINDING, f"documents.{kind}", f"this person is bound with another {kind}"
            )
        updates[kind] = given
        changes.append(kind)
    count, renewed = _merge_travel_permit(stored, new)
    if renewed:
        changes.append("travel_permit")
    record.documents = replace(stored, travel_permit_issue_count=count, **updates)
    name_zh = declared.name_zh.strip() if declared.name_zh and declared.name_zh.strip() else record.name_zh
    name_en = declared.name_en.strip() if declared.name_en and declared.name_en.strip() else record.name_en
    if (name_zh, name_en) != (record.name_zh, record.name_en):
        record.name_zh, record.name_en = name_zh, name_en
        changes.append("name")
    return tuple(changes)
