"""Console logins and sessions: who is signed in, with which role, and their CSRF token.

Sessions live in the gateway's memory (a restart signs operators out). The session token goes in an
HttpOnly cookie; the CSRF token is handed to the page at login and must come back in a header on
every state-changing request, which a cross-site form cannot do.

Logins are throttled per user name and per address (``throttle``): a caller that must wait is refused
before any scrypt work, and at most ``max_parallel_checks`` scrypt checks run at once, so guessing
cannot take the shared thread pool. Every checked login, and the first refusal of each wait, is in
the audit log as ``console.login`` (actor, address, result; never the password).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from baylink import errors
from services.gateway.console.domain.passwords import ConsoleUser, Role, hash_password, verify_password
from services.gateway.console.service_layer.throttle import FailureCounter, ThrottlePolicy, address_key

# The audit log's ``record(actor, action, result, *, details=...)``.
Recorder = Callable[..., Awaitable[object]]

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


@dataclass(frozen=True)
class LoginThrottling:
    """Per user name and per address (an address may carry several operators, so it gets more)."""

    user: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=5))
    address: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=20))
    max_keys: int = 10_000
    max_parallel_checks: int = 2
    max_sessions_per_user: int = 20


class ConsoleAuth:
    def __init__(
        self,
        users: Mapping[str, ConsoleUser],
        ttl_seconds: float,
        *,
        throttling: LoginThrottling | None = None,
        record: Recorder | None = None,
        clock: Callable[[], float] = time.monotonic,
        verify: Callable[[str, str], bool] = verify_password,
    ):
        self.users = dict(users)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.record = record
        self.verify = verify
        self.throttling = throttling = throttling or LoginThrottling()
        # Known names have a table of their own, so a flood of made-up names cannot push them out.
        self._known = FailureCounter(throttling.user, max_keys=max(1, len(self.users)), clock=clock)
        self._unknown = FailureCounter(throttling.user, max_keys=throttling.max_keys, clock=clock)
        self._addresses = FailureCounter(throttling.address, max_keys=throttling.max_keys, clock=clock)
        self._checks = asyncio.Semaphore(throttling.max_parallel_checks)
        self._sessions: dict[str, ConsoleSession] = {}

    async def login(
        self, username: str, password: str, address: str = "", *, replacing: str | None = None
    ) -> ConsoleSession | None:
        """A new session, or None when the name or password is wrong (which one is not said);
        ``errors.ResourceExhausted`` (with the wait) when the name or the address must wait first.
        The scrypt check (~0.1 s of CPU by design) runs in a thread, so the event loop keeps serving.
        A success ends the session ``replacing`` (the cookie the browser came with)."""
        user = self.users.get(username)
        names = self._known if user else self._unknown
        where = address_key(address)
        actor = f"operator:{user.name}" if user else "anonymous"
        must_wait = max(names.wait(username), self._addresses.wait(where)) > 0
        names.attempted(username)
        self._addresses.attempted(where)
        if must_wait:
            wait = max(names.wait(username), self._addresses.wait(where))  # as lengthened by this attempt
            if names.first_refusal(username) or self._addresses.first_refusal(where):
                await self._audit(actor, "THROTTLED", address)
            seconds = max(1, math.ceil(wait))
            raise errors.ResourceExhausted(
                f"too many failed logins; try again in {seconds} s",
                subject="console-login",
                retry_after_seconds=seconds,
                reason="LOGIN_THROTTLED",
            )
        async with self._checks:
            matches = await asyncio.to_thread(self.verify, password, user.password_hash if user else _DUMMY_HASH)
        if user is None or not matches:
            await self._audit(actor, "DENIED", address)
            return None
        names.succeeded(username, forget=True)
        self._addresses.succeeded(where, forget=False)
        self.logout(replacing)
        self._expire()
        session = ConsoleSession(
            secrets.token_urlsafe(32), user.name, user.role, secrets.token_urlsafe(32), self.clock() + self.ttl_seconds
        )
        self._sessions[session.token] = session
        self._keep_newest(user.name)
        await self._audit(actor, "OK", address)
        return session

    async def _audit(self, actor: str, result: str, address: str) -> None:
        if self.record is not None:
            await self.record(actor, "console.login", result, details={"address": address})

    def session(self, token: str | None) -> ConsoleSession | None:
        """The live session of ``token``, else None."""
        session = self._sessions.get(token or "")
        if session is None:
            return None
        if session.expires_at <= self.clock():
            self._sessions.pop(session.token, None)
            return None
        return session

    async def sign_out(self, session: ConsoleSession, address: str = "") -> None:
        """End ``session`` at its user's request, audited as ``console.logout``."""
        self.logout(session.token)
        if self.record is not None:
            await self.record(session.actor, "console.logout", "OK", details={"address": address})

    def logout(self, token: str | None) -> None:
        """End the session of ``token`` (if any)."""
        self._sessions.pop(token or "", None)

    def _keep_newest(self, username: str) -> None:
        """At most ``max_sessions_per_user`` live sessions per user (the oldest end first), so logging in
        over and over cannot fill the gateway's memory."""
        mine = [t for t, s in self._sessions.items() if s.username == username]  # insertion order: oldest first
        for token in mine[: max(0, len(mine) - self.throttling.max_sessions_per_user)]:
            del self._sessions[token]

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]
