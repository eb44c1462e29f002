"""Payments: participants, accounts, rates, quotes, transfers, postings, usage, settlement windows.

Revision ID: payments_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "payments_0001"
down_revision = None
branch_labels = ("payments",)
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)


def _s(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _i(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pay_participants",
        sa.Column("participant_id", sa.String(40), primary_key=True),
        _s("name_en", 200),
        _s("name_zh_hant", 200),
        _s("name_zh_hans", 200),
        _s("name_pt", 200),
        _s("jurisdiction", 2),
        _s("kind", 20),
        _s("bic", 11),
        _s("currencies", 100),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
    )
    op.create_table(
        "pay_accounts",
        sa.Column("account_id", sa.String(60), primary_key=True),
        _s("participant_id", 40, nullable=True),
        _s("currency", 3),
        _s("kind", 10),
        _i("debits_posted"),
        _i("credits_posted"),
        _i("debits_pending"),
        _i("net_debit_cap", nullable=True),
    )
    op.create_table(
        "pay_rates",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _s("source_currency", 3),
        _s("target_currency", 3),
        _s("mid", 40),
        sa.Column("valid_from", Ts, nullable=False),
        sa.Column("valid_until", Ts, nullable=True),
        sa.Column("spread_bps", sa.Integer, nullable=False),
        _i("fee_fixed_minor"),
        sa.Column("fee_bps", sa.Integer, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
    )
    op.create_index("ix_pay_rates_pair", "pay_rates", ["source_currency", "target_currency", "valid_from"])
    op.create_table(
        "pay_quotes",
        sa.Column("quote_id", sa.String(64), primary_key=True),
        _s("request_hash", 64),
        _s("payer_id", 40),
        _s("payee_id", 40),
        _s("amount_type", 10),
        _s("send_currency", 3),
        _i("send_minor"),
        _s("receive_currency", 3),
        _i("receive_minor"),
        _i("fee_minor"),
        _s("mid_rate", 40),
        _s("customer_rate", 40),
        sa.Column("rate_valid_from", Ts, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("expires_at", Ts, nullable=False),
        _s("transfer_id", 64, nullable=True),
    )
    op.create_table(
        "pay_transfers",
        sa.Column("transfer_id", sa.String(64), primary_key=True),
        _s("request_hash", 64),
        _s("quote_id", 64),
        _s("payer_id", 40),
        _s("payee_id", 40),
        _s("send_currency", 3),
        _i("send_minor"),
        _s("receive_currency", 3),
        _i("receive_minor"),
        _i("fee_minor"),
        _s("customer_rate", 40),
        _s("reference", 140),
        _s("payer_pseudonym", 128),
        _s("payer_name", 140),
        _s("payee_name", 140),
        _s("state", 10),
        sa.Column("uetr", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("reserved_at", Ts, nullable=True),
        sa.Column("completed_at", Ts, nullable=True),
        sa.Column("expires_at", Ts, nullable=False),
        _s("corridor", 7),
        _s("usage_day", 10),
        _s("usage_year", 4),
        _s("abort_code", 60),
        _s("abort_reason", 500),
        sa.Column("refusal", sa.JSON, nullable=True),
        _s("settlement_window_id", 64),
    )
    # The expiry sweep reads RESERVED transfers by deadline; listings go by time and party.
    op.create_index("ix_pay_transfers_state_expiry", "pay_transfers", ["state", "expires_at"])
    op.create_index("ix_pay_transfers_created", "pay_transfers", ["created_at", "transfer_id"])
    op.create_index("ix_pay_transfers_payer", "pay_transfers", ["payer_id", "created_at"])
    op.create_index("ix_pay_transfers_payee", "pay_transfers", ["payee_id", "created_at"])
    op.create_index("ix_pay_transfers_reference", "pay_transfers", ["reference"])
    op.create_index("ix_pay_transfers_window", "pay_transfers", ["settlement_window_id"])
    op.create_table(
        "pay_postings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _s("journal_kind", 10),
        _s("journal_id", 64),
        sa.Column("leg", sa.Integer, nullable=False),
        _s("debit_account", 60),
        _s("credit_account", 60),
        _s("currency", 3),
        _i("amount_minor"),
        _s("settlement_window_id", 64),
        sa.Column("posted_at", Ts, nullable=False),
        sa.UniqueConstraint("journal_kind", "journal_id", "leg", name="uq_pay_postings_journal_leg"),
    )
    op.create_index("ix_pay_postings_window", "pay_postings", ["settlement_window_id", "journal_kind"])
    op.create_table(
        "pay_payer_usage",
        sa.Column("payer_pseudonym", sa.String(128), primary_key=True),
        sa.Column("corridor", sa.String(7), primary_key=True),
        _s("day_key", 10),
        _i("day_minor"),
        sa.Column("day_count", sa.Integer, nullable=False),
        _s("year_key", 4),
        _i("year_minor"),
        _s("bucket_key", 20),
        sa.Column("bucket_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "pay_settlement_windows",
        sa.Column("settlement_window_id", sa.String(64), primary_key=True),
        _s("state", 10),
        sa.Column("opened_at", Ts, nullable=False),
        sa.Column("closed_at", Ts, nullable=True),
        sa.Column("settled_at", Ts, nullable=True),
        _s("reason", 500),
    )
    # At most one open window, whatever the callers race to do.
    op.create_index(
        "uq_pay_one_open_window",
        "pay_settlement_windows",
        ["state"],
        unique=True,
        postgresql_where=sa.text("state = 'OPEN'"),
        sqlite_where=sa.text("state = 'OPEN'"),
    )
    op.create_table(
        "pay_window_positions",
        sa.Column("settlement_window_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(60), primary_key=True),
        _s("participant_id", 40),
        _s("currency", 3),
        _i("net_minor"),
        _i("transfer_count"),
    )


def downgrade() -> None:
    for table in (
        "pay_window_positions",
        "pay_settlement_windows",
        "pay_payer_usage",
        "pay_postings",
        "pay_transfers",
        "pay_quotes",
        "pay_rates",
        "pay_accounts",
        "pay_participants",
    ):
        op.drop_table(table)
