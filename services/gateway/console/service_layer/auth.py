"""Console logins and sessions: who is signed in, with which role, and their CSRF token.

Sessions and failure counts are kept by ports (``auth_state``): in the gateway's database, so a
session made on one replica is good on every other, survives a restart, and a logout anywhere ends
it everywhere; failures count across replicas. The session token goes in an
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
from services.gateway.console.domain.passwords import ConsoleUser, hash_password, verify_password
from services.gateway.console.service_layer.auth_state import (
    ADDRESS,
    KNOWN,
    UNKNOWN,
    ConsoleSession,
    ConsoleSessions,
    InProcessFailures,
    InProcessSessions,
    LoginFailures,
    Scope,
)
from services.gateway.console.service_layer.throttle import ThrottlePolicy, address_key

# The audit log's ``record(actor, action, result, *, details=...)``.
Recorder = Callable[..., Awaitable[object]]

# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginThrottling:
    """Per user name and per address (an address may carry several operators, so it gets more)."""

    user: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=5))
    address: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=20))
    max_keys: int = 10_000
    max_parallel_checks: int = 2
    max_sessions_per_user: int = 20

    def scopes(self, known_users: int) -> dict[str, Scope]:
        """Known names have a table of their own, so a flood of made-up names cannot push them out."""
        return {
            KNOWN: Scope(self.user, max(1, known_users)),
            UNKNOWN: Scope(self.user, self.max_keys),
            ADDRESS: Scope(self.address, self.max_keys),
        }


class ConsoleAuth:
    def __init__(
        self,
        users: Mapping[str, ConsoleUser],
        ttl_seconds: float,
        *,
        throttling: LoginThrottling | None = None,
        record: Recorder | None = None,
        clock: Callable[[], float] = time.time,
        verify: Callable[[str, str], bool] = verify_password,
        sessions: ConsoleSessions | None = None,
        failures: LoginFailures | None = None,
    ):
        self.users = dict(users)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.record = record
        self.verify = verify
        self.throttling = throttling = throttling or LoginThrottling()
        self.sessions = sessions or InProcessSessions(clock)
        self.failures = failures or InProcessFailures(throttling.scopes(len(self.users)), clock)
        self._checks = asyncio.Semaphore(throttling.max_parallel_checks)

    async def login(
        self, username: str, password: str, address: str = "", *, replacing: str | None = None
    ) -> ConsoleSession | None:
        """A new session, or None when the name or password is wrong (which one is not said);
        ``errors.ResourceExhausted`` (with the wait) when the name or the address must wait first.
        The scrypt check (~0.1 s of CPU by design) runs in a thread, so the event loop keeps serving.
        A success ends the session ``replacing`` (the cookie the browser came with)."""
        user = self.users.get(username)
        names = KNOWN if user else UNKNOWN
        where = address_key(address)
        actor = f"operator:{user.name}" if user else "anonymous"
        by_name = await self.failures.attempt(names, username)
        by_address = await self.failures.attempt(ADDRESS, where)
        if max(by_name.waited, by_address.waited) > 0:
            if by_name.first_refusal or by_address.first_refusal:
                await self._audit(actor, "THROTTLED", address)
            seconds = max(1, math.ceil(max(by_name.wait, by_address.wait)))  # as lengthened by this attempt
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
        await self.failures.succeeded(names, username, forget=True)
        await self.failures.succeeded(ADDRESS, where, forget=False)
        await self.logout(replacing)
        session = ConsoleSession(
            secrets.token_urlsafe(32), user.name, user.role, secrets.token_urlsafe(32), self.clock() + self.ttl_seconds
        )
        # At most ``max_sessions_per_user`` live sessions per user (the oldest end first), so logging in
        # over and over cannot fill the table.
        await self.sessions.add(session, self.throttling.max_sessions_per_user)
        await self._audit(actor, "OK", address)
        return session

    async def _audit(self, actor: str, result: str, address: str) -> None:
        if self.record is not None:
            await self.record(actor, "console.login", result, details={"address": address})

    async def session(self, token: str | None) -> ConsoleSession | None:
        """The live session of ``token``, else None."""
        return await self.sessions.get(token) if token else None

    async def sign_out(self, session: ConsoleSession, address: str = "") -> None:
        """End ``session`` at its user's request, audited as ``console.logout``."""
        await self.logout(session.token)
        if self.record is not None:
            await self.record(session.actor, "console.logout", "OK", details={"address": address})

    async def logout(self, token: str | None) -> None:
        """End the session of ``token`` (if any)."""
        if token:
            await self.sessions.remove(token)


__all__ = ["ConsoleAuth", "ConsoleSession", "LoginThrottling"]
