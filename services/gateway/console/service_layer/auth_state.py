"""Where console sessions and login failures are kept: the ports, and the in-process fakes.

The gateway keeps both in its database (``console/adapters/auth_store.py``) so that every replica
knows every session and counts every failure; these in-process versions serve the unit tests.
Failures are counted in scopes, each with its own policy and size bound: known user names, unknown
ones (a flood of made-up names cannot push a known name out) and addresses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from services.gateway.console.domain.passwords import Role
from services.gateway.console.service_layer.throttle import Attempt, FailureCounter, ThrottlePolicy

KNOWN, UNKNOWN, ADDRESS = "known", "unknown", "address"


@dataclass(frozen=True)
class ConsoleSession:
    token: str
    username: str
    role: Role
    csrf_token: str
    expires_at: float  # epoch seconds (the clock of ``ConsoleAuth``)

    @property
    def actor(self) -> str:
        """How the operator appears in the audit log."""
        return f"operator:{self.username}"

    @property
    def may_operate(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class Scope:
    policy: ThrottlePolicy
    max_keys: int


class ConsoleSessions(Protocol):
    async def add(self, session: ConsoleSession, keep_per_user: int) -> None:
        """Keep ``session``; end the user's oldest beyond ``keep_per_user``, and every expired one."""

    async def get(self, token: str) -> ConsoleSession | None:
        """The live session of ``token``, else None (an expired one is ended)."""

    async def remove(self, token: str) -> None: ...


class LoginFailures(Protocol):
    async def attempt(self, scope: str, key: str) -> Attempt:
        """Count one attempt of ``key`` as a failure (``FailureCount.attempt``), atomically."""

    async def succeeded(self, scope: str, key: str, *, forget: bool) -> None:
        """Forget ``key`` (a user), or take one count back (an address)."""


class InProcessSessions:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._sessions: dict[str, ConsoleSession] = {}

    async def add(self, session: ConsoleSession, keep_per_user: int) -> None:
        now = self.clock()
        self._sessions = {t: s for t, s in self._sessions.items() if s.expires_at > now}
        self._sessions[session.token] = session
        mine = [t for t, s in self._sessions.items() if s.username == session.username]  # oldest first
        for token in mine[: max(0, len(mine) - keep_per_user)]:
            del self._sessions[token]

    async def get(self, token: str) -> ConsoleSession | None:
        session = self._sessions.get(token)
        if session is not None and session.expires_at <= self.clock():
            del self._sessions[token]
            return None
        return session

    async def remove(self, token: str) -> None:
        self._sessions.pop(token, None)


class InProcessFailures:
    def __init__(self, scopes: Mapping[str, Scope], clock: Callable[[], float] = time.time):
        self.tables = {name: FailureCounter(s.policy, max_keys=s.max_keys, clock=clock) for name, s in scopes.items()}

    async def attempt(self, scope: str, key: str) -> Attempt:
        return self.tables[scope].attempted(key)

    async def succeeded(self, scope: str, key: str, *, forget: bool) -> None:
        self.tables[scope].succeeded(key, forget=forget)
