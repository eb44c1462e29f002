"""SQL repositories: applications (optimistic versioning), names, USCC sequences and licences.

Every operation is a direct program (``baylink.runtime.direct``: statements built once, run on the
driver's own connection), run by the unit of work in its transaction through ``run``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baylink import errors
from baylink.runtime.direct import PerDialect, Program, Statement, execute, fetch, insert
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

Run = Callable[[Program[Any]], Awaitable[Any]]

a = applications.c
_GET = Statement(sa.select(applications).where(a.application_id == sa.bindparam("application_id")))
_BY_REFERENCE = Statement(sa.select(applications).where(a.payment_reference == sa.bindparam("reference")))
_ADD = insert(applications)
_SAVE = Statement(
    sa.update(applications)
    .where(a.application_id == sa.bindparam("id"))
    .where(a.version == sa.bindparam("seen_version"))
    .values({c.key: sa.bindparam(c.key, type_=c.type) for c in applications.columns if c.key != "application_id"})
)
_PAST_DEADLINE = Statement(
    sa.select(a.application_id)
    .where(a.state.in_([s.value for s in AWAITING_DECISION]))
    .where(a.overdue.is_(False))
    .where(a.deadline < sa.bindparam("now", type_=a.deadline.type))
    .order_by(a.deadline)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_STORE_CONTENT = insert(material_contents)
_CONTENT = Statement(
    sa.select(material_contents.c.content).where(material_contents.c.material_id == sa.bindparam("material_id"))
)
d = draft_requests.c
_DRAFT_FOR = Statement(sa.select(d.application_id, d.fingerprint).where(d.request_id == sa.bindparam("request_id")))


def _insert_new(table: sa.Table) -> PerDialect:
    """INSERT of one row that does nothing where the key is taken (its row count says which)."""

    def build(dialect: str) -> sa.Executable:
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = {c.key: sa.bindparam(c.key, type_=c.type) for c in table.columns}
        return make(table).values(values).on_conflict_do_nothing()

    return PerDialect(build)


_REMEMBER = _insert_new(draft_requests)


class SqlApplications:
    def __init__(self, run: Run):
        self.run = run
        self.seen: list[Application] = []

    async def get(self, application_id: str) -> Application:
        return self._track(await self.run(_get(application_id)))

    async def add(self, app: Application) -> None:
        await self.run(_one(_ADD, **records.columns(app, _now()), version=1))
        app.version = 1
        self._track(app)

    async def save(self, app: Application) -> None:
        """Write the aggregate if nobody else changed it since it was read (else ABORTED: retry)."""
        await self.run(_save(records.columns(app, _now()), app.version))
        app.version += 1

    async def by_payment_reference(self, reference: str) -> Application | None:
        rows = await self.run(fetched(_BY_REFERENCE, reference=reference))
        return self._track(records.application(rows[0])) if rows else None

    async def past_deadline(self, now: datetime, limit: int) -> list[str]:
        rows = await self.run(fetched(_PAST_DEADLINE, now=now.astimezone(UTC), limit=limit))
        return [row.application_id for row in rows]

    async def page(self, where: ApplicationFilter, size: int, after: tuple[datetime, str] | None) -> list[Application]:
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
        # A listing's shape varies with its filter: compiled per call (it is not on a hot path).
        return [records.application(row) for row in await self.run(fetched(Statement(query)))]

    async def store_content(self, application_id: str, material_id: str, sha256: bytes, content: bytes) -> None:
        row = {"material_id": material_id, "application_id": application_id, "sha256": sha256, "content": content}
        await self.run(_one(_STORE_CONTENT, **row))

    async def content(self, material_id: str) -> bytes:
        rows = await self.run(fetched(_CONTENT, material_id=material_id))
        if not rows:
            raise errors.NotFound("material", material_id)
        return bytes(rows[0].content)

    async def draft_for_request(self, request_id: str) -> tuple[str, str] | None:
        rows = await self.run(fetched(_DRAFT_FOR, request_id=request_id))
        return (rows[0].application_id, rows[0].fingerprint) if rows else None

    async def remember_request(self, request_id: str, application_id: str, fingerprint: str) -> None:
        await self.run(_remember(request_id, application_id, fingerprint))

    def _track(self, app: Application) -> Application:
        self.seen.append(app)
        return app


def _get(application_id: str) -> Program[Application]:
    rows = yield fetch(_GET, application_id=application_id)
    if not rows:
        raise errors.NotFound("application", application_id)
    return records.application(rows[0])


def _save(columns: dict[str, Any], version: int) -> Program[None]:
    values = {**columns, "id": columns.pop("application_id"), "seen_version": version, "version": version + 1}
    if (yield execute(_SAVE, **values)) != 1:
        raise errors.Aborted(say("stale_version", version="?"), reason="CONCURRENT_MODIFICATION")


def _remember(request_id: str, application_id: str, fingerprint: str) -> Program[None]:
    row = {"request_id": request_id, "application_id": application_id, "fingerprint": fingerprint}
    if (yield execute(_REMEMBER, **row)) != 1:
        raise errors.Aborted("the same draft request is being handled; retry", reason="REQUEST_RACE")


def fetched(statement: Statement, **params: Any) -> Program[list[Any]]:
    rows: list[Any] = yield fetch(statement, **params)
    return rows


def _one(statement: Statement, **params: Any) -> Program[None]:
    yield execute(statement, **params)


n = name_reservations.c
_SAME_NAME = (
    (n.city_code == sa.bindparam("city_code"))
    & (n.industry == sa.bindparam("industry"))
    & (n.trade_name == sa.bindparam("trade_name"))
)
# Re-declaring frees the application's previous name first (this write also takes SQLite's lock).
_FREE_PREVIOUS = Statement(
    sa.delete(name_reservations)
    .where(n.application_id == sa.bindparam("application_id"))
    .where(n.registered.is_(False))
    .where(
        sa.or_(
            n.city_code != sa.bindparam("city_code"),
            n.industry != sa.bindparam("industry"),
            n.trade_name != sa.bindparam("trade_name"),
        )
    )
)
_HOLDER = Statement(sa.select(name_reservations).where(_SAME_NAME))
_EXTEND = Statement(
    sa.update(name_reservations)
    .where(_SAME_NAME)
    .values(reserved_until=sa.bindparam("until", type_=n.reserved_until.type))
)
_DROP = Statement(sa.delete(name_reservations).where(_SAME_NAME))
_RESERVE = _insert_new(name_reservations)
_RELEASE = Statement(
    sa.delete(name_reservations)
    .where(n.application_id == sa.bindparam("application_id"))
    .where(n.registered.is_(False))
)
_REGISTER = Statement(
    sa.update(name_reservations)
    .where(n.application_id == sa.bindparam("application_id"))
    .values(registered=True, reserved_until=None)
)


class SqlNames:
    def __init__(self, run: Run):
        self.run = run

    async def reserve(self, key: NameKey, full_name: str, application_id: str, until: datetime, now: datetime) -> None:
        await self.run(_reserve(key, full_name, application_id, until, now))

    async def release(self, application_id: str) -> None:
        await self.run(_one(_RELEASE, application_id=application_id))

    async def register(self, application_id: str) -> None:
        await self.run(_one(_REGISTER, application_id=application_id))


def _reserve(key: NameKey, full_name: str, application_id: str, until: datetime, now: datetime) -> Program[None]:
    name = {"city_code": key.city_code, "industry": key.industry, "trade_name": key.trade_name}
    yield execute(_FREE_PREVIOUS, application_id=application_id, **name)
    holders = yield fetch(_HOLDER, **name)
    if holders:
        holder = holders[0]
        if holder.application_id == application_id:
            yield execute(_EXTEND, until=until, **name)
            return
        expired = not holder.registered and _aware(holder.reserved_until) < now
        if not expired:
            raise _taken(holder.full_name)
        yield execute(_DROP, **name)
    row = {**name, "full_name": full_name, "application_id": application_id, "registered": False}
    if (yield execute(_RESERVE, **row, reserved_until=until)) != 1:
        raise _taken(full_name)  # a concurrent declaration committed first


s = uscc_sequences.c
# The row lock (PostgreSQL) or the write lock (SQLite) taken by this UPDATE is held until the
# transaction ends: concurrent approvals queue here, and a rollback gives the number back.
_BUMP = Statement(
    sa.update(uscc_sequences)
    .where(s.division_code == sa.bindparam("division_code"))
    .values(last_value=s.last_value + 1)
    .returning(s.last_value)
)
_FIRST = _insert_new(uscc_sequences)
_LICENCE = insert(business_licences)


class SqlRegistrations:
    def __init__(self, run: Run):
        self.run = run

    async def next_sequence(self, division_code: str) -> int:
        return int(await self.run(_next_sequence(division_code)))

    async def add_licence(self, application_id: str, licence: Licence, sequence: int) -> None:
        record = {**vars(licence), "issued_at": licence.issued_at.isoformat()}
        row = {
            "uscc": licence.uscc,
            "application_id": application_id,
            "authority_code": licence.authority_code,
            "sequence": sequence,
            "enterprise_name": licence.name,
            "issued_at": licence.issued_at,
            "body": record,
        }
        await self.run(_one(_LICENCE, **row))


def _next_sequence(division_code: str) -> Program[int]:
    for _ in range(2):
        bumped = yield fetch(_BUMP, division_code=division_code)
        if bumped:
            return int(bumped[0].last_value)
        if (yield execute(_FIRST, division_code=division_code, last_value=1)) == 1:
            return 1
        # another transaction created the row first: take the next number of it
    raise errors.Aborted("USCC sequence contention; retry", reason="SEQUENCE_CONTENTION")


def _taken(full_name: str) -> errors.AlreadyExists:
    return errors.AlreadyExists(say("name_taken", name=full_name), reason="NAME_TAKEN")


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.max.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _now() -> datetime:
    return datetime.now(UTC)
