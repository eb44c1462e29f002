"""The double-entry ledger: accounts, postings, and the postings each event makes.

Every posting moves one amount from a debit account to a credit account of the
same currency, so each currency balances by construction; the audit still
checks it independently. An account's balance is debits − credits: for a
participant's position account, positive means it owes the scheme.

Accounts:
- ``POS:<participant>:<ccy>``  a participant's position, bounded by its net debit cap;
- ``FX:<ccy>``                 the FX conversion account: a cross-currency transfer
                               credits it in the send currency and debits it in the
                               receive currency, so each currency balances on its own;
- ``FEE:<ccy>``                the scheme's fee income;
- ``SETTLE:<ccy>``             the settlement account: back to zero after each window.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.payments.domain.money import Money
from services.payments.domain.transfer import Transfer

SCHEME_FX = "SCHEME_FX"
SCHEME_FEE = "SCHEME_FEE"


class AccountKind(enum.Enum):
    POSITION = "POS"
    FX = "FX"
    FEE = "FEE"
    SETTLEMENT = "SETTLE"


def position_account(participant_id: str, currency: str) -> str:
    return f"POS:{participant_id}:{currency}"


def scheme_account(kind: AccountKind, currency: str) -> str:
    return f"{kind.value}:{currency}"


def owner_of(account_id: str) -> str:
    """Who a settlement report names for an account."""
    kind, rest = account_id.split(":", 1)
    if kind == AccountKind.POSITION.value:
        return rest.rsplit(":", 1)[0]
    return {AccountKind.FX.value: SCHEME_FX, AccountKind.FEE.value: SCHEME_FEE}.get(kind, kind)


@dataclass(frozen=True)
class Posting:
    """One balanced movement: ``amount`` from ``debit`` to ``credit``, both in ``amount.currency``."""

    leg: int
    debit: str
    credit: str
    amount: Money


def commit_postings(transfer: Transfer) -> list[Posting]:
    """The postings that make a transfer final, numbered so each is posted at most once."""
    send, receive, fee = transfer.send, transfer.receive, transfer.fee
    payer = position_account(transfer.payer_id, send.currency)
    payee = position_account(transfer.payee_id, receive.currency)
    postings: list[Posting] = []
    if fee.minor:
        postings.append(Posting(1, payer, scheme_account(AccountKind.FEE, send.currency), fee))
    principal = transfer.principal
    if send.currency == receive.currency:
        if principal != receive:
            raise ValueError(f"same-currency transfer {transfer.transfer_id} does not conserve value")
        postings.append(Posting(2, payer, payee, receive))
    else:
        postings.append(Posting(2, payer, scheme_account(AccountKind.FX, send.currency), principal))
        postings.append(Posting(3, scheme_account(AccountKind.FX, receive.currency), payee, receive))
    return postings


def settlement_postings(net: dict[str, Money]) -> list[Posting]:
    """Postings that settle a window: each account's net goes against ``SETTLE:<ccy>``.

    ``net`` maps account → its net debit in the window; they sum to zero per
    currency, so the settlement account returns to where it was.
    """
    postings = []
    for leg, (account, amount) in enumerate(sorted(net.items()), start=1):
        settle = scheme_account(AccountKind.SETTLEMENT, amount.currency)
        if amount.minor > 0:  # it owed: it paid in outside the link, its position comes down
            postings.append(Posting(leg, settle, account, amount))
        elif amount.minor < 0:
            postings.append(Posting(leg, account, settle, Money(amount.currency, -amount.minor)))
    return postings
