"""The binding store on SQL (SQLite or PostgreSQL): sealed rows, blind indexes, optimistic versions.

Searches never decrypt: a document number, a certificate fingerprint or an issued pseudonym is
looked up by its HMAC under the lookup key, in an index whose primary key also makes each of
them belong to one person only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baylink import errors
from baylink.runtime import direct
from baylink.runtime.db import Database
from services.gateway.binding.adapters.records import person, sealed_columns
from services.gateway.binding.adapters.tables import (
    binding_certificates,
    binding_documents,
    binding_pseudonyms,
    bindings,
)
from services.gateway.binding.domain.model import PersonRecord
from services.gateway.shared.adapters.crypto import KEY_BYTES, FieldCipher
from services.gateway.shared.adapters.crypto_hmac import LookupHasher, Pseudonymiser
from services.gateway.shared.adapters.crypto_keys import BindingKeyFiles, read_key_file

MIGRATIONS = Path(__file__).parents[2] / "shared" / "adapters" / "migrations"
_CERTIFICATE = "certificate"


def _race() -> errors.Aborted:
    return errors.Aborted("a concurrent binding of the same person or document won; retry", reason="BINDING_RACE")


class SqlBindingRepository:
    """The bindings seen through one transaction (``BindingRepository`` of the service layer)."""

    def __init__(self, session: AsyncSession, cipher: FieldCipher, lookup: LookupHasher):
        self.session = session
        self.cipher = cipher
        self.lookup = lookup

    async def subjects_for(self, numbers: Mapping[str, str]) -> dict[str, str]:
        if not numbers:
            return {}
        wanted = [
            sa.and_(binding_documents.c.kind == kind, binding_documents.c.digest == self.lookup.digest(kind, number))
            for kind, number in numbers.items()
        ]
        query = sa.select(binding_documents.c.kind, binding_documents.c.subject_id).where(sa.or_(*wanted))
        return {row.kind: row.subject_id for row in await self.session.execute(query)}

    async def get(self, subject_id: str) -> PersonRecord:
        row = (await self.session.execute(sa.select(bindings).where(bindings.c.subject_id == subject_id))).first()
        if row is None:
            raise errors.NotFound("binding", subject_id)
        return person(row, self.cipher)

    async def add(self, record: PersonRecord, now: datetime) -> None:
        values = sealed_columns(record, self.cipher)
        try:
            await self.session.execute(
                sa.insert(bindings).values(
                    subject_id=record.subject_id, version=1, created_at=now, updated_at=now, **values
                )
            )
            await self._index_documents(record)
        except IntegrityError:
            raise _race() from None
        record.version = 1

    async def save(self, record: PersonRecord, now: datetime) -> None:
        result = await self.session.execute(
            sa.update(bindings)
            .where(bindings.c.subject_id == record.subject_id, bindings.c.version == record.version)
            .values(version=record.version + 1, updated_at=now, **sealed_columns(record, self.cipher))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.Aborted("the binding changed meanwhile; retry", reason="BINDING_RACE")
        record.version += 1
        try:
            await self._index_documents(record)
        except IntegrityError:
            raise _race() from None

    async def _index_documents(self, record: PersonRecord) -> None:
        query = sa.select(binding_documents.c.kind).where(binding_documents.c.subject_id == record.subject_id)
        indexed = set((await self.session.execute(query)).scalars())
        rows = [
            {"kind": kind, "digest": self.lookup.digest(kind, number), "subject_id": record.subject_id}
            for kind, number in record.documents.numbers().items()
            if kind not in indexed
        ]
        if rows:
            await self.session.execute(sa.insert(binding_documents), rows)

    async def certificate_owner(self, fingerprint: str) -> str | None:
        digest = self.lookup.digest(_CERTIFICATE, fingerprint)
        query = sa.select(binding_certificates.c.subject_id).where(binding_certificates.c.digest == digest)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def link_certificate(self, subject_id: str, fingerprint: str, jurisdiction: str, now: datetime) -> None:
        digest = self.lookup.digest(_CERTIFICATE, fingerprint)
        updated = await self.session.execute(
            sa.update(binding_certificates)
            .where(binding_certificates.c.digest == digest, binding_certificates.c.subject_id == subject_id)
            .values(last_bound_at=now)
        )
        if updated.rowcount == 1:  # type: ignore[attr-defined]
            return
        try:
            await self.session.execute(
                sa.insert(binding_certificates).values(
                    digest=digest,
                    subject_id=subject_id,
                    jurisdiction=jurisdiction,
                    first_bound_at=now,
                    last_bound_at=now,
                )
            )
        except IntegrityError:
            raise _race() from None

    async def record_pseudonym(self, subject_id: str, city_code: str, pseudonym: str, now: datetime) -> None:
        digest = self.lookup.digest(f"pseudonym:{city_code}", pseudonym)
        query = sa.select(binding_pseudonyms.c.digest).where(
            binding_pseudonyms.c.subject_id == subject_id, binding_pseudonyms.c.city_code == city_code
        )
        known = (await self.session.execute(query)).scalar_one_or_none()
        if known is not None and bytes(known) == digest:
            return
        try:
            if known is None:
                await self.session.execute(
                    sa.insert(binding_pseudonyms).values(
                        city_code=city_code, digest=digest, subject_id=subject_id, issued_at=now
                    )
                )
            else:  # the pseudonym key was replaced: the old pseudonym stops resolving
                await self.session.execute(
                    sa.update(binding_pseudonyms)
                    .where(binding_pseudonyms.c.subject_id == subject_id, binding_pseudonyms.c.city_code == city_code)
                    .values(digest=digest, issued_at=now)
                )
        except IntegrityError:
            raise _race() from None

    async def subject_for_pseudonym(self, city_code: str, pseudonym: str) -> str | None:
        digest = self.lookup.digest(f"pseudonym:{city_code}", pseudonym)
        query = sa.select(binding_pseudonyms.c.subject_id).where(
            binding_pseudonyms.c.city_code == city_code, binding_pseudonyms.c.digest == digest
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def sealed_under_other_keys(self, limit: int) -> list[str]:
        query = (
            sa.select(bindings.c.subject_id)
            .where(bindings.c.key_id != self.cipher.current_key_id)
            .order_by(bindings.c.updated_at, bindings.c.subject_id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())


class SqlBindingStore:
    """``BindingStore`` on a ``Database`` whose schema includes migration gateway_0002."""

    def __init__(self, db: Database, cipher: FieldCipher, lookup: LookupHasher):
        self.db = db
        self.cipher = cipher
        self.lookup = lookup

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlBindingRepository]:
        async with self.db.transaction() as session:
            yield SqlBindingRepository(session, self.cipher, self.lookup)

    async def record(self, subject_id: str) -> PersonRecord:
        rows = await self.db.run_direct(direct.alone(direct.fetch(_RECORD, subject_id=subject_id)), readonly=True)
        if not rows:
            raise errors.NotFound("binding", subject_id)
        return person(rows[0], self.cipher)

    def certificate_ref(self, fingerprint: str) -> str:
        return self.lookup.digest(_CERTIFICATE, fingerprint).hex()


# A record read on its own (the subject's number for a payment, its documents for a mainland call):
# a direct read, no ORM session.
_RECORD = direct.Statement(sa.select(bindings).where(bindings.c.subject_id == sa.bindparam("subject_id")))


@dataclass(frozen=True)
class BindingKeys:
    """The binding store's keys, opened: the number cipher, the lookup hasher and the pseudonymiser."""

    cipher: FieldCipher
    lookup: LookupHasher
    pseudonyms: Pseudonymiser


def load_binding_keys(files: BindingKeyFiles) -> BindingKeys:
    """Open the key files; refuse a set in which two roles share one key."""
    pseudonym_key, lookup_key = read_key_file(files.pseudonym_key), read_key_file(files.lookup_key)
    number_keys = [read_key_file(p, length=KEY_BYTES) for p in (files.number_key, *files.previous_number_keys)]
    if pseudonym_key == lookup_key or pseudonym_key in number_keys or lookup_key in number_keys:
        raise ValueError("the number, pseudonym and lookup keys must all be different keys")
    return BindingKeys(
        cipher=FieldCipher.from_key_files(files.number_key, files.previous_number_keys),
        lookup=LookupHasher(lookup_key),
        pseudonyms=Pseudonymiser(pseudonym_key),
    )
