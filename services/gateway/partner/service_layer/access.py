"""A partner city's call, end to end: scope, rate, authority, subjects read, and its audit record.

``PartnerAccess.call`` wraps one RPC. It sets the calling city in a contextvar, checks the
method's scope and the caller's rate, hands the servicer a ``PartnerCall`` for the checks that
need the data (which authority an application belongs to, which people it names), and on the way
out appends one audit record with the outcome, whatever it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from baylink.errors import BaylinkError, Unauthenticated
from services.gateway.audit.domain.chain import AuditNotes, check_subject
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.partner.domain.cities import CityGrants, Scope, actor_of
from services.gateway.shared.domain.guard import SecurityAlert, Severity
from services.gateway.shared.service_layer.guard import Guard

OK = "OK"
REVOKED = "CERTIFICATE_REVOKED"
REVOKED_ALERT_SECONDS = 600.0  # one alert per revoked certificate per window, however often it knocks


@dataclass(frozen=True)
class PartnerCaller:
    """The city a verified client certificate names, and that certificate's SHA-256."""

    city: str
    certificate_fingerprint: str

    @property
    def actor(self) -> str:
        return actor_of(self.city)


# The calling city for the current RPC (None outside partner calls); logs and adapters may read it.
partner_caller_var: ContextVar[PartnerCaller | None] = ContextVar("baylink_partner_caller", default=None)


@dataclass
class PartnerCall(AuditNotes):
    access: PartnerAccess
    caller: PartnerCaller
    subject: str = ""

    @property
    def city(self) -> str:
        return self.caller.city

    @property
    def authorities(self) -> frozenset[str]:
        """Division codes this city acts for."""
        return self.access.grants.authorities_of(self.city)

    def authorise_authority(self, authority_code: str) -> None:
        """PermissionDenied unless the city acts for ``authority_code``."""
        self.details["authority_code"] = authority_code
        self.access.grants.check_authority(self.city, authority_code)

    async def read_subjects(self, *pseudonyms: str) -> None:
        """Count people about to be disclosed; RESOURCE_EXHAUSTED when the caller reads too many."""
        named = [check_subject(p, "pseudonym") for p in pseudonyms if p]
        if named and not self.subject:
            self.subject = named[0]
        await self.access.guard.admit_subjects(
            self.caller.actor,
            named,
            city_code=self.city,
            certificate_fingerprint=self.caller.certificate_fingerprint,
        )


class PartnerAccess:
    def __init__(self, grants: CityGrants, guard: Guard, audit: AuditLog):
        self.grants = grants
        self.guard = guard
        self.audit = audit

    async def refused(self, action: str, exc: Unauthenticated) -> None:
        """A peer not let in: one audit record. A revoked certificate presented means a credential that
        was withdrawn (perhaps stolen) is in use, so operators get a HIGH alert too."""
        fingerprint = exc.metadata.get("certificate_sha256", "")
        kind = "revoked_certificate_presented"
        if exc.reason == REVOKED and await self.guard.first_alert(fingerprint, kind, REVOKED_ALERT_SECONDS):
            city = exc.metadata.get("city", "")
            await self.guard.alerts.raise_alert(
                SecurityAlert(
                    kind=kind,
                    severity=Severity.HIGH,
                    description=f"a revoked client certificate of partner city {city} was presented",
                    actor="peer",
                    city_code=city,
                    certificate_fingerprint=fingerprint,
                )
            )
        await self.audit.record("peer", action, exc.reason, details=exc.metadata)

    @asynccontextmanager
    async def call(self, caller: PartnerCaller, action: str, scope: Scope) -> AsyncIterator[PartnerCall]:
        token = partner_caller_var.set(caller)
        call = PartnerCall(self, caller)
        result = OK
        try:
            self.grants.check_scope(caller.city, scope)
            await self.guard.admit_call(
                caller.actor, city_code=caller.city, certificate_fingerprint=caller.certificate_fingerprint
            )
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
            with contextlib.suppress(ValueError):  # a stream's generator may finish in another context
                partner_caller_var.reset(token)
            # Shielded: a client hanging up must not cost the record of what it did.
            await asyncio.shield(
                self.audit.record(caller.actor, action, result, subject=call.subject, details=call.details)
            )
