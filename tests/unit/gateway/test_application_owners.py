"""The gateway remembers, per application it has seen, what never changes: its authority and applicant."""

from __future__ import annotations

from services.gateway.kiosk.service_layer.deps import ApplicationOwners
from services.gateway.kiosk.service_layer.model import ApplicationView


def view(application_id: str, applicant_ref: str = "ref-chan", authority_code: str = "440605") -> ApplicationView:
    return ApplicationView(
        application_id=application_id,
        catalogue_item_id="item",
        authority_code=authority_code,
        applicant_ref=applicant_ref,
        state="draft",
        version=1,
        materials_verified=False,
        name_approved=False,
        fee_paid=False,
        enterprise_name="",
        investor_certificates=(),
        legal_representative_certificate="",
    )


def test_an_application_seen_is_known_by_its_authority_and_applicant() -> None:
    owners = ApplicationOwners()
    assert owners.get("app-1") is None
    owners.remember(view("app-1", "ref-chan", "440605"))
    assert owners.get("app-1") == ("440605", "ref-chan")
    assert owners.get("app-2") is None


def test_the_least_recently_used_are_forgotten_beyond_the_capacity() -> None:
    owners = ApplicationOwners(capacity=2)
    owners.remember(view("a"))
    owners.remember(view("b"))
    assert owners.get("a") is not None  # used: "b" is now the oldest
    owners.remember(view("c"))
    assert owners.get("b") is None
    assert owners.get("a") is not None and owners.get("c") is not None
