"""What every use case of the registry works with, wired once by ``bootstrap``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from baylink import errors
from services.registry.domain.application import Application
from services.registry.domain.calendar import WorkingCalendar
from services.registry.domain.catalogue import Catalogue, CatalogueItem
from services.registry.domain.messages import say
from services.registry.domain.names import NameRules
from services.registry.service_layer.ports import SignatureTimeStamper, SignatureVerifier, UnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Registry:
    catalogue: Catalogue
    name_rules: NameRules
    calendar: WorkingCalendar
    uow: UnitOfWork
    identity: SignatureVerifier
    timestamps: SignatureTimeStamper
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = new_id
    name_reservation_days: int = 30
    max_material_bytes: int = 10 * 1024 * 1024
    overdue_batch: int = field(default=200)

    def item_of(self, app: Application) -> CatalogueItem:
        return self.catalogue.get(app.catalogue_item_id)


def check_applicant(app: Application, applicant_ref: str) -> None:
    """An applicant command names its applicant; it must be the application's (when given)."""
    if applicant_ref and applicant_ref != app.applicant_ref:
        raise errors.PermissionDenied(say("not_own_applicant"), reason="NOT_APPLICANT")


def check_authority(app: Application, authority_code: str) -> None:
    """The gateway authorised the caller as an authority; it must be this application's authority."""
    if not authority_code:
        raise errors.InvalidInput.field("authority_code", say("required"))
    if authority_code != app.authority_code:
        raise errors.PermissionDenied(say("not_own_authority", authority=authority_code), reason="NOT_OWN_AUTHORITY")


def check_version(app: Application, expected_version: int) -> None:
    """0 means the caller does not care; otherwise it must be the version it saw."""
    if expected_version and expected_version != app.version:
        raise errors.FailedPrecondition(
            say("stale_version", version=app.version),
            [errors.PreconditionViolation("VERSION", f"applications/{app.application_id}", str(app.version))],
            reason="STALE_VERSION",
        )
