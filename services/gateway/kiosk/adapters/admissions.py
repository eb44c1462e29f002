"""``KioskAdmissions`` on SQL: the kiosk guard's token and the session's row in one transaction.

Every kiosk call takes a token from its kiosk's bucket (``guard_callers``, an upsert) and reads the
session its token names (``kiosk_sessions``, by primary key). Both are in the gateway's database,
shared by every replica, and both are read afresh for every call: here in one direct program (on
SQLite one write transaction, run on the event loop's thread, instead of a hop to the reader's
thread and another to the writer's; on PostgreSQL one transaction instead of two). The session's row
is read after the upsert, within the same write transaction, so it is at least as fresh as a read of
its own would be: a session ended or expired on any replica is refused at once on every replica.
"""

from __future__ import annotations

from services.gateway.kiosk.adapters.session_store import SqlSessionStore, read_session, token_digest
from services.gateway.kiosk.service_layer.sessions import KioskSession
from services.gateway.shared.adapters.guard_store import SqlGuardLedger
from services.gateway.shared.domain.guard import Trip


class SqlKioskAdmissions:
    def __init__(self, sessions: SqlSessionStore, ledger: SqlGuardLedger):
        if sessions.db is not ledger.db:
            raise ValueError("the kiosk's sessions and its guard's ledger must be in one database")
        self.sessions = sessions
        self.ledger = ledger

    async def admit(self, caller: str, token: str | None, now: float) -> tuple[Trip | None, KioskSession | None]:
        if not token:
            return await self.ledger.admit_call(caller, now), None
        digest = token_digest(token)
        trip, found = await self.ledger.admit_call_and(caller, now, read_session(digest))
        return trip, self.sessions.session_of(token, digest, found)
