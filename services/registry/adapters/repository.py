"""SQL repositories: applications (optimistic versioning), names, USCC sequences and licences."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baylink import errors
from services.registry.adapters import records
from services.registry.adapters.tables import (
    applications,
    business_licences,
    draft_requests,
    material_contents,
    name_reservations,
    uscc_sequences,
)
from services.registry.domain.application import AWAITING_DECISION, Application, Licence
from services.registry.domain.messages import say
from services.registry.domain.names import NameKey
from services.registry.service_layer.ports import ApplicationFilter


class SqlApplications:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.seen: list[Application] = []

    async def get(self, application_id: str) -> Application:
        row = (
            await self.session.execute(sa.select(applications).where(applications.c.application_id == application_id))
        ).first()
        if row is None:
            raise errors.NotFound("application", application_id)
        return self._track(records.application(row))

    async def add(self, app: Application) -> None:
        await self.session.execute(sa.insert(applications).values(**records.columns(app, _now()), version=1))
        app.version = 1
        self._track(app)

    async def save(self, app: Application) -> None:
        """Write the aggregate if nobody else changed it since it was read (else ABORTED: retry)."""
        result = await self.session.execute(
            sa.update(applications)
            .where(applications.c.application_id == app.application_id)
            .where(applications.c.version == app.version)
            .values(**records.columns(app, _now()), version=app.version + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.Aborted(say("stale_version", version="?"), reason="CONCURRENT_MODIFICATION")
        app.version += 1

    async def by_payment_reference(self, reference: str) -> Application | None:
        query = sa.select(applications).where(applications.c.payment_reference == reference)
        row = (await self.session.execute(query)).first()
        return self._track(records.application(row)) if row is not None else None

    async def past_deadline(self, now: datetime, limit: int) -> list[str]:
        query = (
            sa.select(applications.c.application_id)
            .where(applications.c.state.in_([s.value for s in AWAITING_DECISION]))
            .where(applications.c.overdue.is_(False))
            .where(applications.c.deadline < now.astimezone(UTC))
            .order_by(applications.c.deadline)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def page(self, where: ApplicationFilter, size: int, after: tuple[datetime, str] | None) -> list[Application]:
        a = applications.c
        query = sa.select(applications)
        if where.authority_code:
            query = query.where(a.authority_code == where.authority_code)
        if where.states:
            query = query.where(a.state.in_([s.value for s in where.states]))
        if where.applicant_ref:
            query = query.where(a.applicant_ref == where.applicant_ref)
        if where.catalogue_item_id:
            query = query.where(a.catalogue_item_id == where.catalogue_item_id)
        if where.overdue_only:
            query = query.where(a.overdue.is_(True))
        if after is not None:
            created, last_id = after[0].astimezone(UTC), after[1]
            query = query.where(
                sa.or_(a.created_at > created, sa.and_(a.created_at == created, a.application_id > last_id))
            )
        query = query.order_by(a.created_at, a.application_id).limit(size)
        return [records.application(row) for row in await self.session.execute(query)]

    async def store_content(self, application_id: str, material_id: str, sha256: bytes, content: bytes) -> None:
        await self.session.execute(
            sa.insert(material_contents).values(
                material_id=material_id, application_id=application_id, sha256=sha256, content=content
            )
        )

    async def content(self, material_id: str) -> bytes:
        query = sa.select(material_contents.c.content).where(material_contents.c.material_id == material_id)
        content = (await self.session.execute(query)).scalar_one_or_none()
        if content is None:
            raise errors.NotFound("material", material_id)
        return bytes(content)

    async def draft_for_request(self, request_id: str) -> tuple[str, str] | None:
        r = draft_requests.c
        row = (
            await self.session.execute(sa.select(r.application_id, r.fingerprint).where(r.request_id == request_id))
        ).first()
        return (row.application_id, row.fingerprint) if row is not None else None

    async def remember_request(self, request_id: str, application_id: str, fingerprint: str) -> None:
        try:
            await self.session.execute(
                sa.insert(draft_requests).values(
                    request_id=request_id, application_id=application_id, fingerprint=fingerprint
                )
            )
        except IntegrityError:
            raise errors.Aborted("the same draft request is being handled; retry", reason="REQUEST_RACE") from None

    def _track(self, app: Application) -> Application:
        self.seen.append(app)
        return app


class SqlNames:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def reserve(self, key: NameKey, full_name: str, application_id: str, until: datetime, now: datetime) -> None:
        n = name_reservations.c
        # Re-declaring frees the application's previous name first (this write also takes SQLite's lock).
        await self.session.execute(
            sa.delete(name_reservations)
            .where(n.application_id == application_id)
            .where(n.registered.is_(False))
            .where(sa.or_(n.city_code != key.city_code, n.industry != key.industry, n.trade_name != key.trade_name))
        )
        match = (n.city_code == key.city_code) & (n.industry == key.industry) & (n.trade_name == key.trade_name)
        holder = (await self.session.execute(sa.select(name_reservations).where(match))).first()
        if holder is not None:
            if holder.application_id == application_id:
                await self.session.execute(sa.update(name_reservations).where(match).values(reserved_until=until))
                return
            expired = not holder.registered and _aware(holder.reserved_until) < now
            if not expired:
                raise _taken(holder.full_name)
            await self.session.execute(sa.delete(name_reservations).where(match))
        row = {
            "city_code": key.city_code,
            "industry": key.industry,
            "trade_name": key.trade_name,
            "full_name": full_name,
            "application_id": application_id,
            "registered": False,
            "reserved_until": until,
        }
        try:
            async with self.session.begin_nested():
                await self.session.execute(sa.insert(name_reservations).values(**row))
        except IntegrityError:
            raise _taken(full_name) from None  # a concurrent declaration committed first

    async def release(self, application_id: str) -> None:
        n = name_reservations.c
        await self.session.execute(
            sa.delete(name_reservations).where(n.application_id == application_id).where(n.registered.is_(False))
        )

    async def register(self, application_id: str) -> None:
        n = name_reservations.c
        await self.session.execute(
            sa.update(name_reservations)
            .where(n.application_id == application_id)
            .values(registered=True, reserved_until=None)
        )


class SqlRegistrations:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def next_sequence(self, division_code: str) -> int:
        # The row lock (PostgreSQL) or the write lock (SQLite) taken by this UPDATE is held until the
        # transaction ends: concurrent approvals queue here, and a rollback gives the number back.
        s = uscc_sequences.c
        bump = (
            sa.update(uscc_sequences)
            .where(s.division_code == division_code)
            .values(last_value=s.last_value + 1)
            .returning(s.last_value)
        )
        for _ in range(2):
            value = (await self.session.execute(bump)).scalar_one_or_none()
            if value is not None:
                return int(value)
            try:
                async with self.session.begin_nested():
                    await self.session.execute(
                        sa.insert(uscc_sequences).values(division_code=division_code, last_value=1)
                    )
                return 1
            except IntegrityError:
                continue  # another transaction created the row first: take the next number of it
        raise errors.Aborted("USCC sequence contention; retry", reason="SEQUENCE_CONTENTION")

    async def add_licence(self, application_id: str, licence: Licence, sequence: int) -> None:
        record = {**vars(licence), "issued_at": licence.issued_at.isoformat()}
        await self.session.execute(
            sa.insert(business_licences).values(
                uscc=licence.uscc,
                application_id=application_id,
                authority_code=licence.authority_code,
                sequence=sequence,
                enterprise_name=licence.name,
                issued_at=licence.issued_at,
                body=record,
            )
        )


def _taken(full_name: str) -> errors.AlreadyExists:
    return errors.AlreadyExists(say("name_taken", name=full_name), reason="NAME_TAKEN")


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.max.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _now() -> datetime:
    return datetime.now(UTC)
