"""Console logins and sessions: who is signed in, with which role, and their CSRF token.

Sessions live in the gateway's memory (a restart signs operators out). The session token goes in an
HttpOnly cookie; the CSRF token is handed to the page at login and must come back in a header on
every state-changing request, which a cross-site form cannot do.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.gateway.console.adapters.users import ConsoleUser, Role, hash_password, verify_password

# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class ConsoleSession:
    token: str
    username: str
    role: Role
    csrf_token: str
    expires_at: float

    @property
    def actor(self) -> str:
        """How the operator appears in the audit log."""
        return f"operator:{self.username}"

    @property
    def may_operate(self) -> bool:
        return self.role == "operator"


class ConsoleAuth:
    def __init__(
        self, users: Mapping[str, ConsoleUser], ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ):
        self.users = dict(users)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._sessions: dict[str, ConsoleSession] = {}

    async def login(self, username: str, password: str) -> ConsoleSession | None:
        """A new session, or None when the name or password is wrong (which one is not said). The
        scrypt check (~0.1 s of CPU by design) runs in a thread, so the event loop keeps serving."""
        user = self.users.get(username)
        matches = await asyncio.to_thread(verify_password, password, user.password_hash if user else _DUMMY_HASH)
        if user is None or not matches:
            return None
        self._expire()
        session = ConsoleSession(
            secrets.token_urlsafe(32), user.name, user.role, secrets.token_urlsafe(32), self.clock() + self.ttl_seconds
        )
        self._sessions[session.token] = session
        return session

    def session(self, token: str | None) -> ConsoleSession | None:
        """The live session of ``token``, else None."""
        session = self._sessions.get(token or "")
        if session is None:
            return None
        if session.expires_at <= self.clock():
            self._sessions.pop(session.token, None)
            return None
        return session

    def logout(self, token: str | None) -> None:
        """End the session of ``token`` (if any)."""
        self._sessions.pop(token or "", None)

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]
