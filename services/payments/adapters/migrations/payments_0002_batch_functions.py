"""Payments on PostgreSQL: a group-committed batch's writes as one call of a function each.

``pay_prepare_writes`` writes what a batch of prepares decided (quotes claimed, payer usage
added and changed, balances, the reserved transfers) and ``pay_commit_writes`` what a batch of
commits did (postings, balances): one statement from the service instead of one per table
(``adapters/batch_repo.py``; figures in docs/performance.md). Each takes its rows as JSON arrays
of objects keyed by column name. Nothing is decided here: the service has decided every row
(``domain/acceptance.py``), and the function only enforces what the one-statement-per-table
writes enforce (a quote already claimed fails the call, as does a duplicate key). SQLite has no
functions: there the batch writes table by table, as before.

Revision ID: payments_0002
Revises: payments_0001
Create Date: 2026-12-06
"""

from alembic import op

revision = "payments_0002"
down_revision = "payments_0001"
branch_labels = None
depends_on = None

# Balances change one account at a time in the order given (the service sorts them by id), as
# the table-by-table path does: two batches locking the same accounts take them in one order.
_CHANGE_BALANCES = """
CREATE FUNCTION pay_change_balances(balances json) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    FOR b IN
        SELECT e->>'account_id' AS account_id, (e->>'debit')::bigint AS debit,
               (e->>'credit')::bigint AS credit, (e->>'pending')::bigint AS pending
        FROM json_array_elements(balances) WITH ORDINALITY AS x(e, n) ORDER BY n
    LOOP
        UPDATE pay_accounts
        SET debits_posted = debits_posted + b.debit, credits_posted = credits_posted + b.credit,
            debits_pending = debits_pending + b.pending
        WHERE account_id = b.account_id;
    END LOOP;
END
$$
"""

# A quote is claimed only while free; fewer claimed than asked for means one was claimed
# elsewhere: the whole call fails (the batch then goes one by one).
_PREPARE_WRITES = """
CREATE FUNCTION pay_prepare_writes(claims json, usage_new json, usage_changed json, balances json, transfers json)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    claimed bigint;
BEGIN
    UPDATE pay_quotes q SET transfer_id = c.transfer_id
    FROM json_to_recordset(claims) AS c(quote_id text, transfer_id text)
    WHERE q.quote_id = c.quote_id AND q.transfer_id IS NULL;
    GET DIAGNOSTICS claimed = ROW_COUNT;
    IF claimed <> json_array_length(claims) THEN
        RAISE EXCEPTION 'a quote was claimed outside the batch' USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO pay_payer_usage SELECT * FROM json_populate_recordset(NULL::pay_payer_usage, usage_new);
    UPDATE pay_payer_usage u
    SET day_key = c.day_key, day_minor = c.day_minor, day_count = c.day_count, year_key = c.year_key,
        year_minor = c.year_minor, bucket_key = c.bucket_key, bucket_count = c.bucket_count
    FROM json_populate_recordset(NULL::pay_payer_usage, usage_changed) AS c
    WHERE u.payer_pseudonym = c.payer_pseudonym AND u.corridor = c.corridor;
    PERFORM pay_change_balances(balances);
    INSERT INTO pay_transfers SELECT * FROM json_populate_recordset(NULL::pay_transfers, transfers);
END
$$
"""

_COMMIT_WRITES = """
CREATE FUNCTION pay_commit_writes(postings json, balances json) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pay_postings (journal_kind, journal_id, leg, debit_account, credit_account, currency,
                              amount_minor, settlement_window_id, posted_at)
    SELECT journal_kind, journal_id, leg, debit_account, credit_account, currency, amount_minor,
           settlement_window_id, posted_at
    FROM json_populate_recordset(NULL::pay_postings, postings);
    PERFORM pay_change_balances(balances);
END
$$
"""

_FUNCTIONS = (
    "pay_commit_writes(json, json)",
    "pay_prepare_writes(json, json, json, json, json)",
    "pay_change_balances(json)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for body in (_CHANGE_BALANCES, _PREPARE_WRITES, _COMMIT_WRITES):
        op.execute(body)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
