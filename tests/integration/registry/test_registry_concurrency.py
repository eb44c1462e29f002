"""Races on SQLite and PostgreSQL: one name, one winner; USCC numbers unique and without gaps."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.ids import check_uscc
from services.registry.adapters.tables import business_licences, uscc_sequences
from services.registry.bootstrap import RegistryService
from services.registry.domain.application import State
from services.registry.domain.names import NameDeclaration
from services.registry.service_layer import applicant, authority
from tests.unit.registry.flow import AUTHORITY, drafted, under_review

RACERS = 12


async def test_two_applicants_racing_for_one_name_exactly_one_wins(registry_on: RegistryService) -> None:
    registry = registry_on.registry
    apps = [await drafted(registry) for _ in range(RACERS)]
    declaration = NameDeclaration("", "赛龙", "贸易", "有限公司")

    async def declare(application_id: str) -> str:
        try:
            await applicant.declare_name(registry, applicant.DeclareName(application_id, declaration))
            return "won"
        except errors.AlreadyExists:
            return "lost"

    outcomes = Counter(await asyncio.gather(*(declare(a.application_id) for a in apps)))
    assert outcomes == {"won": 1, "lost": RACERS - 1}


async def test_concurrent_approvals_issue_consecutive_unique_valid_codes(registry_on: RegistryService) -> None:
    registry = registry_on.registry
    apps = [await under_review(registry) for _ in range(RACERS)]

    approved = await asyncio.gather(
        *(authority.approve(registry, authority.ApproveApplication(a.application_id, "o", AUTHORITY)) for a in apps)
    )
    codes = [a.uscc for a in approved]
    assert all(a.state is State.APPROVED for a in approved)
    assert len(set(codes)) == RACERS and all(check_uscc(c).valid for c in codes)
    async with registry.uow.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        sequences = sorted((await session.execute(sa.select(business_licences.c.sequence))).scalars())
    assert sequences == list(range(1, RACERS + 1))


async def test_allocations_that_roll_back_leave_no_gap(registry_on: RegistryService) -> None:
    registry = registry_on.registry

    async def allocate(n: int) -> int | None:
        class Undone(Exception):
            pass

        try:
            async with registry.uow() as work:
                value = await work.registrations.next_sequence("440605")
                if n % 3 == 0:
                    raise Undone  # e.g. the approval failed after taking a number
                return value
        except Undone:
            return None

    results = await asyncio.gather(*(allocate(n) for n in range(30)))
    kept = sorted(v for v in results if v is not None)
    assert kept == list(range(1, len(kept) + 1)) and len(kept) == 20
    async with registry.uow.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        last = (await session.execute(sa.select(uscc_sequences.c.last_value))).scalar_one()
    assert last == 20


@pytest.mark.parametrize("racers", [8])
async def test_the_same_draft_request_racing_with_itself_makes_one_draft(
    registry_on: RegistryService, racers: int
) -> None:
    registry = registry_on.registry

    async def draft() -> str:
        for _ in range(5):
            try:
                return (await drafted(registry, request_id="kiosk-7-42")).application_id
            except errors.Aborted:
                await asyncio.sleep(0.05)
        raise AssertionError("kept conflicting")

    ids = await asyncio.gather(*(draft() for _ in range(racers)))
    assert len(set(ids)) == 1
