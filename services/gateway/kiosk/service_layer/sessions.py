"""Kiosk sessions: one person (or a few, e.g. investors signing together) at one kiosk, for a while.

A session is created by a kiosk (the one its device certificate names) and belongs to it: another
kiosk presenting its token is refused. It lives ``ttl`` seconds after its last use and never longer
than ``max_lifetime`` after it was opened, however busy, and holds the people
identified in it under opaque handles: the kiosk never sees a subject id, a pseudonym or a
document number, only the handle, which means nothing outside the session.

Sessions live in the gateway's database (``SessionStore``; the adapter seals what they carry and
keeps only a hash of the token), so any gateway replica serves any kiosk, and a restart keeps them.
Each call reads its session afresh and saves what it changed on the way out. An expired session
is a clear 401 (``SESSION_EXPIRED``) and the person identifies again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from baylink import errors
from services.gateway.kiosk.service_layer.model import QuoteView

SESSION_EXPIRED = "SESSION_EXPIRED"
SESSION_UNKNOWN = "SESSION_UNKNOWN"
SESSION_REQUIRED = "SESSION_REQUIRED"
SESSION_OF_ANOTHER_KIOSK = "SESSION_OF_ANOTHER_KIOSK"


@dataclass
class IdentifiedPerson:
    """A person bound in this session. Personal data: never logged, never leaves the gateway."""

    handle: str
    subject_id: str
    jurisdiction: str  # HK or MO
    certificate_sha256: str
    key_kind: str
    name_zh: str | None
    name_en: str | None
    pseudonyms: dict[str, str] = field(default_factory=dict)  # city code → pseudonym (cache of issued ones)

    @property
    def display_name(self) -> str:
        """The name the registry records: the Chinese name where given (verified against the certificate)."""
        return (self.name_zh or self.name_en or "").strip()

    def __repr__(self) -> str:
        return f"IdentifiedPerson(handle={self.handle!r}, <redacted>)"


@dataclass
class KioskSession:
    token: str
    kiosk_id: str
    language: str
    expires_at: float  # epoch seconds
    created_at: float = 0.0  # epoch seconds; the absolute lifetime counts from here
    persons: dict[str, IdentifiedPerson] = field(default_factory=dict)
    quotes: dict[str, tuple[str, QuoteView]] = field(default_factory=dict)  # quote id → (application id, quote)
    # What the store last read, opaque to the use cases: lets it save only what this call changed.
    stored: Any = field(default=None, repr=False, compare=False)

    @property
    def actor(self) -> str:
        return f"kiosk:{self.kiosk_id}"

    def person(self, handle: str, field_path: str = "person") -> IdentifiedPerson:
        person = self.persons.get(handle)
        if person is None:
            raise errors.InvalidInput.field(field_path, "no person with this handle was identified in this session")
        return person


class SessionStore(Protocol):
    """Where sessions live. ``clock`` is wall-clock epoch seconds, shared by every replica (tests move it)."""

    ttl: float
    max_lifetime: float
    clock: Callable[[], float]

    async def create(self, kiosk_id: str, language: str) -> KioskSession:
        """A new session; ResourceExhausted (``SESSIONS_FULL``) when too many are open."""
        ...

    async def peek(self, token: str | None) -> KioskSession | None:
        """The session a token names, live or expired, without touching it (to name who was refused)."""
        ...

    async def get(self, token: str | None, known: KioskSession | None = None) -> KioskSession:
        """The live session (``known``: what ``peek`` just read, to spare a second read); Unauthenticated
        with ``SESSION_REQUIRED``, ``SESSION_UNKNOWN`` or ``SESSION_EXPIRED`` otherwise."""
        ...

    async def save(self, session: KioskSession) -> None:
        """Keep what this call changed in the session and restart its idle timer."""
        ...

    async def end(self, token: str) -> None: ...


def session_required() -> errors.Unauthenticated:
    return errors.Unauthenticated("a kiosk session is required", reason=SESSION_REQUIRED)


def session_unknown() -> errors.Unauthenticated:
    return errors.Unauthenticated("the kiosk session is not known; start a new one", reason=SESSION_UNKNOWN)


def session_expired() -> errors.Unauthenticated:
    return errors.Unauthenticated("the kiosk session has expired; start a new one", reason=SESSION_EXPIRED)


def session_of_another_kiosk() -> errors.PermissionDenied:
    return errors.PermissionDenied("the kiosk session belongs to another kiosk", reason=SESSION_OF_ANOTHER_KIOSK)


def sessions_full() -> errors.ResourceExhausted:
    return errors.ResourceExhausted(
        "too many open kiosk sessions", subject="kiosk-sessions", retry_after_seconds=30, reason="SESSIONS_FULL"
    )
