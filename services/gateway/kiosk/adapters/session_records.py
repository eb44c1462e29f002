"""What a kiosk session carries, as sealed JSON: its people (by handle) and its fee quotes (by id).

The state is two maps of entries. Saving merges by entry (the entries this call added or changed
win, the others stay as the database has them), so two calls of one session on two replicas keep
each other's people and quotes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.gateway.kiosk.service_layer.model import Money, QuoteView
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson, KioskSession
from services.gateway.shared.adapters.crypto import FieldCipher

State = dict[str, dict[str, Any]]  # "persons" | "quotes" → entry id → JSON object
KINDS = ("persons", "quotes")


def context(token_sha256: bytes) -> bytes:
    return f"gateway.kiosk_sessions/state_enc/{token_sha256.hex()}".encode("ascii")


def state_of(session: KioskSession) -> State:
    return {
        "persons": {handle: _person(p) for handle, p in session.persons.items()},
        "quotes": {qid: {"application_id": app_id, **_quote(q)} for qid, (app_id, q) in session.quotes.items()},
    }


def changes(current: State, stored: State | None) -> State:
    """The entries of ``current`` that differ from what was read (all of them for a new session)."""
    before = stored or {}
    return {kind: {k: v for k, v in current[kind].items() if before.get(kind, {}).get(k) != v} for kind in KINDS}


def merged(base: State, changed: State) -> State:
    return {kind: {**base.get(kind, {}), **changed.get(kind, {})} for kind in KINDS}


def fill(session: KioskSession, state: State) -> None:
    """The session's people and quotes from ``state``, which it keeps as read (``stored``): each person
    gets a pseudonym map of its own, so that one cached by a call is a change ``save`` writes."""
    session.persons = {
        handle: IdentifiedPerson(**{**entry, "pseudonyms": dict(entry.get("pseudonyms", {}))})
        for handle, entry in state["persons"].items()
    }
    session.quotes = {qid: (entry["application_id"], _quote_view(entry)) for qid, entry in state["quotes"].items()}
    session.stored = state


def seal(cipher: FieldCipher, token_sha256: bytes, state: State) -> bytes:
    text = json.dumps(state, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return cipher.seal(text.encode("utf-8"), context(token_sha256))


def unseal(cipher: FieldCipher, token_sha256: bytes, sealed: bytes | None) -> State:
    if sealed is None:
        return {kind: {} for kind in KINDS}
    state: State = json.loads(cipher.open(sealed, context(token_sha256)))
    return merged({}, state)


def _person(person: IdentifiedPerson) -> dict[str, Any]:
    return {
        "handle": person.handle,
        "subject_id": person.subject_id,
        "jurisdiction": person.jurisdiction,
        "certificate_sha256": person.certificate_sha256,
        "key_kind": person.key_kind,
        "name_zh": person.name_zh,
        "name_en": person.name_en,
        "pseudonyms": dict(person.pseudonyms),
    }


def _money(money: Money | None) -> list[Any] | None:
    return None if money is None else [money.currency, money.minor_units]


def _money_of(value: list[Any] | None) -> Money | None:
    return None if value is None else Money(str(value[0]), int(value[1]))


def _quote(quote: QuoteView) -> dict[str, Any]:
    return {
        "quote_id": quote.quote_id,
        "payer_participant_id": quote.payer_participant_id,
        "payee_participant_id": quote.payee_participant_id,
        "send": _money(quote.send),
        "receive": _money(quote.receive),
        "fee": _money(quote.fee),
        "customer_rate": quote.customer_rate,
        "expires_at": quote.expires_at.isoformat() if quote.expires_at else None,
    }


def _quote_view(entry: dict[str, Any]) -> QuoteView:
    send, receive = _money_of(entry["send"]), _money_of(entry["receive"])
    assert send is not None and receive is not None, "a stored quote always has both amounts"
    expires = entry["expires_at"]
    return QuoteView(
        quote_id=entry["quote_id"],
        payer_participant_id=entry["payer_participant_id"],
        payee_participant_id=entry["payee_participant_id"],
        send=send,
        receive=receive,
        fee=_money_of(entry["fee"]),
        customer_rate=entry["customer_rate"],
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )
