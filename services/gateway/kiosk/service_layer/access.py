"""One kiosk request, end to end: who asks, the per-kiosk rate guard, the session, one audit record.

``KioskAccess.call`` wraps every kiosk endpoint. The actor is ``kiosk:<kiosk id>``, the kiosk its
device certificate names (verified in the TLS handshake; never a kiosk id a request body names), so
rate limits hold per real kiosk and a stranger cannot spend a named kiosk's. The guard admits the
call before anything else happens; the session is looked up inside, so a refused or expired session,
or one presented by a kiosk it does not belong to, is audited too.
On the way out one record says what was asked and how it ended, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from baylink.errors import BaylinkError
from services.gateway.audit.domain.chain import AuditNotes, check_subject
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.kiosk.service_layer.sessions import KioskSession, SessionStore, session_of_another_kiosk
from services.gateway.shared.service_layer.guard import Guard

OK = "OK"
ANONYMOUS_KIOSK = "kiosk"

# The kiosk actor of the current request; the binding decision sink reads it for its audit record.
kiosk_actor_var: ContextVar[str] = ContextVar("baylink_kiosk_actor", default=ANONYMOUS_KIOSK)


def kiosk_actor(kiosk_id: str | None) -> str:
    return f"kiosk:{kiosk_id}" if kiosk_id else ANONYMOUS_KIOSK


@dataclass
class KioskCall(AuditNotes):
    actor: str
    session: KioskSession | None = None
    subject: str = ""  # a binding's surrogate subject id, never a number

    @property
    def live(self) -> KioskSession:
        assert self.session is not None, "the call was opened without a session"
        return self.session

    def about(self, subject_id: str) -> None:
        self.subject = check_subject(subject_id)


class KioskAccess:
    def __init__(self, sessions: SessionStore, guard: Guard, audit: AuditLog):
        self.sessions = sessions
        self.guard = guard
        self.audit = audit

    @asynccontextmanager
    async def call(
        self, action: str, *, kiosk_id: str, token: str | None = None, opening: bool = False,
        known: KioskSession | None = None,
    ) -> AsyncIterator[KioskCall]:  # fmt: skip
        """``kiosk_id``: the authenticated kiosk. ``opening`` for the call that opens a session; ``token``
        for every other call (``known``: the session the caller has just peeked at for that token, if
        any, to spare reading it again)."""
        actor = kiosk_actor(kiosk_id)
        call = KioskCall(actor)
        marker = kiosk_actor_var.set(actor)
        result = OK
        try:
            await self.guard.admit_call(actor)
            if not opening:
                session = await self.sessions.get(token, known)
                if session.kiosk_id != kiosk_id:
                    raise session_of_another_kiosk()
                call.session = session
            yield call
        except BaylinkError as exc:
            result = exc.reason
            raise
        except asyncio.CancelledError:
            result = "CANCELLED"
            raise
        except Exception:
            result = "INTERNAL"
            raise
        finally:
            with contextlib.suppress(ValueError):
                kiosk_actor_var.reset(marker)
            if call.session is not None:  # what the call added (people, quotes, pseudonyms), for any replica
                await asyncio.shield(self.sessions.save(call.session))
            # Shielded: a kiosk that hangs up must not cost the record of what it asked.
            await asyncio.shield(self.audit.record(actor, f"kiosk.{action}", result, subject=call.subject,
                                                   details=call.details))  # fmt: skip
