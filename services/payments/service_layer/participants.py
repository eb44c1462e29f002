"""Use cases: connect a participant, set its net debit cap, read its positions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from baylink.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PreconditionViolation
from services.payments.domain.ledger import AccountKind, position_account, scheme_account
from services.payments.domain.money import Money, exponent, money
from services.payments.domain.participants import (
    Balance,
    Participant,
    Position,
    validate_bic,
    validate_participant_id,
)
from services.payments.service_layer.ports import Ledger
from services.payments.service_layer.unit_of_work import Deps


@dataclass(frozen=True)
class CreateParticipant:
    participant: Participant  # created_at is set here


async def create_participant(deps: Deps, cmd: CreateParticipant) -> Participant:
    p = cmd.participant
    validate_participant_id(p.participant_id)
    validate_bic(p.bic)
    if not (p.name_en or p.name_zh_hant or p.name_zh_hans):
        raise InvalidInput.field("name", "at least one of en, zh_hant, zh_hans is required")
    if not p.currencies:
        raise InvalidInput.field("currencies", "at least one currency")
    for i, currency in enumerate(p.currencies):
        exponent(currency, f"currencies[{i}]")
    p = replace(p, currencies=tuple(sorted(set(p.currencies))), created_at=deps.clock(), active=True)
    async with deps.uow() as uow:
        existing = (await uow.participants.get([p.participant_id])).get(p.participant_id)
        if existing is not None:
            if replace(existing, created_at=p.created_at) != p:
                raise AlreadyExists(
                    f"participant {p.participant_id} already exists with other details", reason="MODIFIED_REQUEST"
                )
            return existing
        await uow.participants.add(p)
        for currency in p.currencies:
            await uow.ledger.ensure_account(
                position_account(p.participant_id, currency), currency, AccountKind.POSITION, p.participant_id, 0
            )
            for kind in (AccountKind.FX, AccountKind.FEE, AccountKind.SETTLEMENT):
                await uow.ledger.ensure_account(scheme_account(kind, currency), currency, kind, None, None)
    return p


async def set_net_debit_cap(deps: Deps, participant_id: str, cap: Money) -> Position:
    cap = money(cap.currency, cap.minor, "net_debit_cap", positive=False)
    if cap.minor < 0:
        raise InvalidInput.field("net_debit_cap.minor_units", "must not be negative")
    account_id = position_account(participant_id, cap.currency)
    async with deps.uow() as uow:
        if await uow.ledger.balance(account_id) is None:
            raise NotFound("position", f"{participant_id}/{cap.currency}")
        if not await uow.ledger.set_cap(account_id, cap.minor):
            current = _position(await _balance(uow.ledger, account_id), participant_id)
            raise FailedPrecondition(
                f"cap {cap} is below what {participant_id} already owes and has reserved "
                f"({current.position.minor + current.reserved.minor} minor units)",
                [PreconditionViolation("NET_DEBIT_CAP", account_id, "below current exposure")],
                reason="CAP_BELOW_EXPOSURE",
            )
        return _position(await _balance(uow.ledger, account_id), participant_id)


async def set_active(deps: Deps, participant_id: str, active: bool) -> Participant:
    async with deps.uow() as uow:
        found = (await uow.participants.get([participant_id])).get(participant_id)
        if found is None:
            raise NotFound("participant", participant_id)
        await uow.participants.set_active(participant_id, active)
        return replace(found, active=active)


async def positions(deps: Deps, participant_id: str, currency: str = "") -> list[Position]:
    async with deps.read() as repos:
        found = (await repos.participants.get([participant_id])).get(participant_id)
        if found is None:
            raise NotFound("participant", participant_id)
        result = []
        for ccy in found.currencies:
            if currency and ccy != currency:
                continue
            balance = await _balance(repos.ledger, position_account(participant_id, ccy))
            result.append(_position(balance, participant_id))
    if currency and not result:
        raise NotFound("position", f"{participant_id}/{currency}")
    return result


async def list_participants(deps: Deps) -> list[Participant]:
    async with deps.read() as repos:
        return list((await repos.participants.get()).values())


async def _balance(ledger: Ledger, account_id: str) -> Balance:
    found = await ledger.balance(account_id)
    if found is None:  # pragma: no cover - a participant's currencies each have their position account
        raise NotFound("position", account_id)
    return found


def _position(b: Balance, participant_id: str) -> Position:
    ccy = b.currency
    return Position(
        participant_id=participant_id,
        currency=ccy,
        position=Money(ccy, b.debits_posted - b.credits_posted),
        reserved=Money(ccy, b.debits_pending),
        net_debit_cap=Money(ccy, b.net_debit_cap or 0),
    )
