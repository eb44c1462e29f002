"""An application's flow id: made by the registry, carried by every event of the application.

Registration spans calls under different correlation ids (the kiosk's requests, the payment, the
city deciding over the partner API); the registry's events of one application still share one
correlation id, its flow id, and name the call (or consumed event) that caused them. A caller's
correlation id is for tracing only: it never becomes the flow id (issue 16, item 3).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from baylink.runtime.context import correlation_scope
from baylink.runtime.db import Database
from baylink.runtime.schema import outbox
from services.registry.adapters import proto_mapping
from services.registry.adapters.tables import applications
from services.registry.bootstrap import MIGRATIONS
from services.registry.service_layer import applicant, authority
from services.registry.service_layer.context import Registry
from tests.unit.registry.flow import AUTHORITY, REASON, attach_all, drafted, named, paid

Headers = dict[str, str]


async def outbox_events(registry: Registry, application_id: str) -> list[tuple[str, Headers]]:
    """(short type, CloudEvent headers) of the application's staged events, in order."""
    async with registry.uow.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        rows = await session.execute(
            sa.select(outbox.c.event_type, outbox.c.headers)
            .where(outbox.c.subject == application_id)
            .order_by(outbox.c.id)
        )
        return [
            (t.removeprefix("baylink.registry.application.").removesuffix(".v1"), dict(map(tuple, h)))
            for t, h in rows.all()
        ]


async def test_events_caused_by_other_callers_carry_the_drafting_calls_id(registry: Registry) -> None:
    with correlation_scope("kiosk-draft"):
        app = await drafted(registry)
    assert app.flow_id == app.application_id  # the registry's, whatever the caller sent
    with correlation_scope("kiosk-name"):
        app = await named(registry, app)
    with correlation_scope("kiosk-attach"):
        app = await attach_all(registry, app)
    with correlation_scope("kiosk-submit"):
        app = await applicant.submit(registry, applicant.SubmitApplication(app.application_id))
    # The fee paid as the registry's consumer sees it: the payment's event in hand.
    with correlation_scope("payment-call", causation_id="transfer-committed-event"):
        app = await paid(registry, app)
    with correlation_scope("city-review"):
        await authority.start_review(registry, authority.StartReview(app.application_id, "officer-7", AUTHORITY))
    with correlation_scope("city-decision"):
        app = await authority.reject(
            registry, authority.RejectApplication(app.application_id, "officer-7", AUTHORITY, REASON)
        )

    events = await outbox_events(registry, app.application_id)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "drafted" and kinds[-1] == "rejected"
    assert {"fee_paid", "review_started", "submitted"} <= set(kinds)
    assert {h["ce_correlationid"] for _, h in events} == {app.flow_id}
    causes = {kind: h.get("ce_causationid") for kind, h in events}
    assert causes["drafted"] == "kiosk-draft"
    assert causes["submitted"] == "kiosk-submit"
    assert causes["fee_paid"] == "transfer-committed-event"
    assert causes["review_started"] == "city-review"
    assert causes["rejected"] == "city-decision"
    assert proto_mapping.application(app, registry.item_of(app)).flow_id == app.flow_id


async def test_the_flow_id_survives_a_reload_and_a_redrafted_request(registry: Registry) -> None:
    with correlation_scope("first-try"):
        app = await drafted(registry, request_id="req-flow-1")
    with correlation_scope("retry"):
        again = await drafted(registry, request_id="req-flow-1")
    assert again.application_id == app.application_id and again.flow_id == app.flow_id == app.application_id


async def test_without_a_correlation_id_the_application_is_its_own_flow(registry: Registry) -> None:
    app = await drafted(registry)
    assert app.flow_id == app.application_id
    events = await outbox_events(registry, app.application_id)
    assert [h["ce_correlationid"] for _, h in events] == [app.application_id]


async def test_applications_drafted_before_flow_ids_get_their_own_id(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(MIGRATIONS / "registry_0001_initial.py", first)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await db.migrate([first])
        now = datetime.now(UTC)
        row = {
            "application_id": "old-app",
            "catalogue_item_id": "440605-HKMO-CO-EST",
            "authority_code": AUTHORITY,
            "applicant_ref": "pseud-alice",
            "state": "DRAFT",
            "overdue": False,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "body": "{}",  # a raw table: the JSON as text
        }
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(sa.table("applications", *(sa.column(k) for k in row))).values(**row))
        await db.migrate([MIGRATIONS])
        async with db.engine.connect() as conn:
            query = sa.select(applications.c.flow_id).where(applications.c.application_id == "old-app")
            assert (await conn.execute(query)).scalar_one() == "old-app"
    finally:
        await db.dispose()
