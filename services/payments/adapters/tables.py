"""The payments tables as SQLAlchemy Core objects (created by migration payments_0001).

Amounts are integer minor units (BIGINT); exchange rates are decimal strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from baylink.runtime.schema import BigInt

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


participants = sa.Table(
    "pay_participants",
    metadata,
    sa.Column("participant_id", sa.String(40), primary_key=True),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("name_zh_hant", sa.String(200), nullable=False),
    sa.Column("name_zh_hans", sa.String(200), nullable=False),
    sa.Column("name_pt", sa.String(200), nullable=False),
    sa.Column("jurisdiction", sa.String(2), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
    sa.Column("currencies", sa.String(100), nullable=False),  # comma-separated ISO 4217 codes
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

accounts = sa.Table(
    "pay_accounts",
    metadata,
    sa.Column("account_id", sa.String(60), primary_key=True),
    sa.Column("participant_id", sa.String(40), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("debits_posted", sa.BigInteger, nullable=False),
    sa.Column("credits_posted", sa.BigInteger, nullable=False),
    sa.Column("debits_pending", sa.BigInteger, nullable=False),
    # NULL: no cap (the scheme's own accounts); participants' positions always have one.
    sa.Column("net_debit_cap", sa.BigInteger, nullable=True),
)

rates = sa.Table(
    "pay_rates",
    metadata,
    sa.Column("id", BigInt, primary_key=True, autoincrement=True),
    sa.Column("source_currency", sa.String(3), nullable=False),
    sa.Column("target_currency", sa.String(3), nullable=False),
    sa.Column("mid", sa.String(40), nullable=False),
    sa.Column("valid_from", UtcDateTime, nullable=False),
    sa.Column("valid_until", UtcDateTime, nullable=True),
    sa.Column("spread_bps", sa.Integer, nullable=False),
    sa.Column("fee_fixed_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_bps", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

quotes = sa.Table(
    "pay_quotes",
    metadata,
    sa.Column("quote_id", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("payer_id", sa.String(40), nullable=False),
    sa.Column("payee_id", sa.String(40), nullable=False),
    sa.Column("amount_type", sa.String(10), nullable=False),
    sa.Column("send_currency", sa.String(3), nullable=False),
    sa.Column("send_minor", sa.BigInteger, nullable=False),
    sa.Column("receive_currency", sa.String(3), nullable=False),
    sa.Column("receive_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_minor", sa.BigInteger, nullable=False),
    sa.Column("mid_rate", sa.String(40), nullable=False),
    sa.Column("customer_rate", sa.String(40), nullable=False),
    sa.Column("rate_valid_from", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("transfer_id", sa.String(64), nullable=True),  # set once: a quote pays for one transfer
)

transfers = sa.Table(
    "pay_transfers",
    metadata,
    sa.Column("transfer_id", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("quote_id", sa.String(64), nullable=False),
    sa.Column("payer_id", sa.String(40), nullable=False),
    sa.Column("payee_id", sa.String(40), nullable=False),
    sa.Column("send_currency", sa.String(3), nullable=False),
    sa.Column("send_minor", sa.BigInteger, nullable=False),
    sa.Column("receive_currency", sa.String(3), nullable=False),
    sa.Column("receive_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_minor", sa.BigInteger, nullable=False),
    sa.Column("customer_rate", sa.String(40), nullable=False),
    sa.Column("reference", sa.String(140), nullable=False),
    sa.Column("payer_pseudonym", sa.String(128), nullable=False),
    sa.Column("payer_name", sa.String(140), nullable=False),
    sa.Column("payee_name", sa.String(140), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("uetr", sa.String(36), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("reserved_at", UtcDateTime, nullable=True),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("corridor", sa.String(7), nullable=False),
    sa.Column("usage_day", sa.String(10), nullable=False),
    sa.Column("usage_year", sa.String(4), nullable=False),
    sa.Column("abort_code", sa.String(60), nullable=False),
    sa.Column("abort_reason", sa.String(500), nullable=False),
    sa.Column("refusal", sa.JSON, nullable=True),
    sa.Column("settlement_window_id", sa.String(64), nullable=False),
)

postings = sa.Table(
    "pay_postings",
    metadata,
    sa.Column("id", BigInt, primary_key=True, autoincrement=True),
    sa.Column("journal_kind", sa.String(10), nullable=False),  # COMMIT | SETTLEMENT
    sa.Column("journal_id", sa.String(64), nullable=False),  # transfer id or settlement window id
    sa.Column("leg", sa.Integer, nullable=False),
    sa.Column("debit_account", sa.String(60), nullable=False),
    sa.Column("credit_account", sa.String(60), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("settlement_window_id", sa.String(64), nullable=False),
    sa.Column("posted_at", UtcDateTime, nullable=False),
    # Posted at most once, enforced by the database itself.
    sa.UniqueConstraint("journal_kind", "journal_id", "leg", name="uq_pay_postings_journal_leg"),
)

payer_usage = sa.Table(
    "pay_payer_usage",
    metadata,
    sa.Column("payer_pseudonym", sa.String(128), primary_key=True),
    sa.Column("corridor", sa.String(7), primary_key=True),
    sa.Column("day_key", sa.String(10), nullable=False),
    sa.Column("day_minor", sa.BigInteger, nullable=False),
    sa.Column("day_count", sa.Integer, nullable=False),
    sa.Column("year_key", sa.String(4), nullable=False),
    sa.Column("year_minor", sa.BigInteger, nullable=False),
    sa.Column("bucket_key", sa.String(20), nullable=False),
    sa.Column("bucket_count", sa.Integer, nullable=False),
)

windows = sa.Table(
    "pay_settlement_windows",
    metadata,
    sa.Column("settlement_window_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("settled_at", UtcDateTime, nullable=True),
    sa.Column("reason", sa.String(500), nullable=False),
)

window_positions = sa.Table(
    "pay_window_positions",
    metadata,
    sa.Column("settlement_window_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(60), primary_key=True),
    sa.Column("participant_id", sa.String(40), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("transfer_count", sa.BigInteger, nullable=False),
)
