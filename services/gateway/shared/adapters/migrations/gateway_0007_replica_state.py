"""State every gateway replica must share: the bulk-leak guard's counts, console sessions and login failures.

Until now these lived in each process's memory, so a city spreading its reads over two replicas
could read twice its limit, and an operator signed in on one replica was unknown to the other.
Times are epoch milliseconds, compared the same way by every replica on SQLite and PostgreSQL.

Revision ID: gateway_0007
Revises: gateway_0006 (audit head signature)
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0007"
down_revision = "gateway_0006"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One row per guarded caller: its token bucket. Every admission of the caller upserts this row
    # first, which on PostgreSQL locks it: one caller's admissions take turns, whichever replica.
    op.create_table(
        "guard_callers",
        sa.Column("guard", sa.String(32), primary_key=True),  # "kiosk" | "partner": each its own policy
        sa.Column("caller", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_ms", BigInt, nullable=False),
        sa.Column("taken", sa.Boolean, nullable=False),  # whether the last admission took a token
    )
    op.create_index("ix_guard_callers_updated", "guard_callers", ["updated_ms"])
    # The people (pseudonyms) each caller read, by the time of its latest read of them.
    op.create_table(
        "guard_subject_reads",
        sa.Column("guard", sa.String(32), primary_key=True),
        sa.Column("caller", sa.String(200), primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("read_at_ms", BigInt, nullable=False),
    )
    op.create_index("ix_guard_subject_reads_caller_time", "guard_subject_reads", ["guard", "caller", "read_at_ms"])
    op.create_index("ix_guard_subject_reads_time", "guard_subject_reads", ["read_at_ms"])
    # When each caller's last alert of each kind was raised: one alert per window, whichever replica.
    op.create_table(
        "guard_alerts",
        sa.Column("guard", sa.String(32), primary_key=True),
        sa.Column("caller", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("alerted_at_ms", BigInt, nullable=False),
    )
    op.create_index("ix_guard_alerts_time", "guard_alerts", ["alerted_at_ms"])
    # Console sessions: the token only as its SHA-256; the CSRF token is handed back to the page.
    op.create_table(
        "console_sessions",
        sa.Column("token_sha256", sa.LargeBinary(32), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at_ms", BigInt, nullable=False),
        sa.Column("created_at_ms", BigInt, nullable=False),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["username", "created_at_ms"])
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at_ms"])
    # Failed console logins per key: scope "known" / "unknown" (user names) or "address".
    op.create_table(
        "console_login_failures",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until_ms", BigInt, nullable=False),
        sa.Column("last_ms", BigInt, nullable=False),
        sa.Column("refused", sa.Integer, nullable=False),
        sa.Column("forget_at_ms", BigInt, nullable=False),
    )
    op.create_index("ix_console_login_failures_last", "console_login_failures", ["scope", "last_ms"])
    op.create_index("ix_console_login_failures_forget", "console_login_failures", ["forget_at_ms"])


def downgrade() -> None:
    for table in ("console_login_failures", "console_sessions", "guard_alerts", "guard_subject_reads", "guard_callers"):
        op.drop_table(table)
