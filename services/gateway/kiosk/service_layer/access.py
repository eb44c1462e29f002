"""One kiosk request, end to end: who asks, the per-kiosk rate guard, the session, one audit record.

``KioskAccess.call`` wraps every kiosk endpoint. The actor is ``kiosk:<kiosk id>``, the kiosk its
device certificate names (verified in the TLS handshake; never a kiosk id a request body names), so
rate limits hold per real kiosk and a stranger cannot spend a named kiosk's. The guard admits the
call before anything else happens (``KioskAccess.admit``, which reads the session the call names in
the same look at the database: the kiosk edge does it before routing); inside the call a refused or
expired session, or one presented by a kiosk it does not belong to, is audited too.
On the way out one record says what was asked and how it ended, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from baylink.errors import BaylinkError
from services.gateway.audit.domain.chain import AuditNotes, check_subject
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.kiosk.service_layer.sessions import KioskSession, SessionStore, session_of_another_kiosk
from services.gateway.shared.domain.guard import Trip
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


class KioskAdmissions(Protocol):
    """The guard's admission of a call and the session the call names, read together."""

    async def admit(self, caller: str, token: str | None, now: float) -> tuple[Trip | None, KioskSession | None]:
        """The guard's answer for one call of ``caller`` (a token taken, or why not) and the session
        ``token`` names, live or expired, as ``SessionStore.peek`` reads it (None for no token)."""
        ...


@dataclass
class Admission:
    """One call of a kiosk, admitted by the guard or not (``trip``), and the session its token names as
    it was read then. A ``KioskAccess.call`` spends it; it admits no second call."""

    kiosk_id: str
    token: str | None
    trip: Trip | None
    session: KioskSession | None
    spent: bool = False


class KioskAccess:
    def __init__(self, sessions: SessionStore, guard: Guard, audit: AuditLog, admissions: KioskAdmissions):
        self.sessions = sessions
        self.guard = guard
        self.audit = audit
        self.admissions = admissions

    async def admit(self, kiosk_id: str, token: str | None) -> Admission:
        """The guard's admission of the next call of ``kiosk_id`` (the authenticated kiosk) and the session
        ``token`` names, in one look at the database; ``call`` spends it."""
        trip, session = await self.admissions.admit(kiosk_actor(kiosk_id), token, self.guard.clock())
        return Admission(kiosk_id, token, trip, session)

    @asynccontextmanager
    async def call(self, action: str, admission: Admission, *, opening: bool = False) -> AsyncIterator[KioskCall]:
        """The call ``admission`` admits (``admit``): refused if the guard refused it; ``opening`` for the
        call that opens a session, else the admission's session must be live and its kiosk's."""
        if admission.spent:
            raise RuntimeError("an admission admits one call")  # a programming error, never a kiosk's
        admission.spent = True
        actor = kiosk_actor(admission.kiosk_id)
        call = KioskCall(actor)
        marker = kiosk_actor_var.set(actor)
        result = OK
        try:
            await self.guard.enforce(admission.trip)
            if not opening:
                session = await self.sessions.get(admission.token, admission.session)
                if session.kiosk_id != admission.kiosk_id:
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
