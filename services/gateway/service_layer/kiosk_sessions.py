"""Kiosk sessions: one person (or a few, e.g. investors signing together) at one kiosk, for a while.

A session is created by a kiosk, lives ``ttl_seconds`` after its last use, and holds the people
identified in it under opaque handles: the kiosk never sees a subject id, a pseudonym or a
document number, only the handle, which means nothing outside the session.

Sessions live in this process's memory: a person's declared names are needed while they sign and
pay, and nowhere after. Several gateway replicas therefore need sticky routing of a kiosk to one
replica; an expired or lost session is a clear 401, and the person identifies again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from baylink import errors
from services.gateway.service_layer.kiosk_model import QuoteView

SESSION_EXPIRED = "SESSION_EXPIRED"
SESSION_UNKNOWN = "SESSION_UNKNOWN"
SESSION_REQUIRED = "SESSION_REQUIRED"


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
    expires_at: float  # monotonic seconds
    persons: dict[str, IdentifiedPerson] = field(default_factory=dict)
    quotes: dict[str, tuple[str, QuoteView]] = field(default_factory=dict)  # quote id → (application id, quote)

    @property
    def actor(self) -> str:
        return f"kiosk:{self.kiosk_id}"

    def person(self, handle: str, field_path: str = "person") -> IdentifiedPerson:
        person = self.persons.get(handle)
        if person is None:
            raise errors.InvalidInput.field(field_path, "no person with this handle was identified in this session")
        return person


class SessionStore:
    """In-memory sessions with an idle timeout; ``clock`` is monotonic seconds (tests move it)."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic, max_sessions: int = 10_000):
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: dict[str, KioskSession] = {}

    def create(self, kiosk_id: str, language: str) -> KioskSession:
        self._purge()
        if len(self._sessions) >= self.max_sessions:
            raise errors.ResourceExhausted(
                "too many open kiosk sessions", subject="kiosk-sessions", retry_after_seconds=30, reason="SESSIONS_FULL"
            )
        session = KioskSession(secrets.token_urlsafe(32), kiosk_id, language, self.clock() + self.ttl)
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> KioskSession:
        """The live session, its idle timer restarted; Unauthenticated (with a reason) otherwise."""
        if not token:
            raise errors.Unauthenticated("a kiosk session is required", reason=SESSION_REQUIRED)
        session = self._sessions.get(token)
        if session is None:
            raise errors.Unauthenticated("the kiosk session is not known; start a new one", reason=SESSION_UNKNOWN)
        now = self.clock()
        if now >= session.expires_at:
            session.persons.clear()  # nothing personal outlives the session
            raise errors.Unauthenticated("the kiosk session has expired; start a new one", reason=SESSION_EXPIRED)
        session.expires_at = now + self.ttl
        return session

    def peek(self, token: str | None) -> KioskSession | None:
        """The session a token names, live or expired, without touching it (to name who was refused)."""
        return self._sessions.get(token or "")

    def end(self, token: str) -> None:
        self._sessions.pop(token, None)

    def _purge(self) -> None:
        # An expired session is kept one more TTL, so its kiosk hears "expired" rather than "unknown".
        cutoff = self.clock() - self.ttl
        for token in [t for t, s in self._sessions.items() if s.expires_at <= cutoff]:
            del self._sessions[token]
