"""Registry ``Application`` → the gateway's ``PartnerApplication``, people re-pseudonymised for one city.

The registry knows a person by the pseudonym of the application's authority. A city sees them under
its own: the same value when the city is that authority (Nanhai on a Nanhai application), otherwise
the binding service resolves the authority's pseudonym to the subject and issues the city's (Foshan
on a Nanhai application). A reference the binding service does not know (an enterprise's number is
never one; a person drafted outside the gateway could be) is passed on empty, never guessed.
"""

from __future__ import annotations

from baylink import errors
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.registry.v1 import application_pb2 as app_pb
from services.gateway.binding.service_layer.service import BindingService


class CityPseudonyms:
    """Turns registry references (the authority's pseudonyms) into one city's pseudonyms, within one call."""

    def __init__(self, bindings: BindingService, city: str, authority_code: str):
        self.bindings = bindings
        self.city = city
        self.authority_code = authority_code
        self._seen: dict[str, str] = {}

    async def of(self, reference: str) -> str:
        if not reference or self.city == self.authority_code:
            return reference
        if reference not in self._seen:
            try:
                subject_id = await self.bindings.resolve_pseudonym(self.authority_code, reference)
                self._seen[reference] = await self.bindings.pseudonym_for(subject_id, self.city)
            except errors.NotFound:
                self._seen[reference] = ""
        return self._seen[reference]


def status(state: int) -> int:
    """Registry state → partner status (same names; a draft is never shown to a city)."""
    name = app_pb.ApplicationState.Name(state)  # type: ignore[arg-type]
    return pc.ApplicationStatus.Value(name.replace("APPLICATION_STATE_", "APPLICATION_STATUS_"))


async def partner_application(app: app_pb.Application, names: CityPseudonyms) -> pc.PartnerApplication:
    enterprise = app.enterprise
    investors = []
    for investor in enterprise.investors:
        person = investor.kind == app_pb.INVESTOR_KIND_NATURAL_PERSON
        investors.append(
            pc.PartnerInvestor(
                name=investor.name,
                jurisdiction=investor.jurisdiction,
                reference=await names.of(investor.reference) if person else investor.reference,
                subscribed_capital=investor.subscribed_capital,
            )
        )
    materials = [
        pc.PartnerMaterial(
            material_id=m.material_id,
            material_type=m.material_type,
            filename=m.filename,
            media_type=m.media_type,
            sha256=m.sha256,
            signature_verified=m.status == app_pb.MATERIAL_STATUS_VERIFIED,
            signer_certificate_fingerprint=m.signer_certificate_fingerprint,
            size_bytes=m.size_bytes,
        )
        for m in app.materials
    ]
    partner = pc.PartnerApplication(
        application_id=app.application_id,
        catalogue_item_id=app.catalogue_item_id,
        authority_code=app.authority_code,
        status=status(app.state),  # type: ignore[arg-type]
        applicant_pseudonym=await names.of(app.applicant_ref),
        enterprise_name=app.name.full_name,
        registered_capital=enterprise.registered_capital,
        address=enterprise.address,
        business_scope=enterprise.business_scope,
        investors=investors,
        legal_representative_name=enterprise.legal_representative_name,
        legal_representative_pseudonym=await names.of(enterprise.legal_representative_ref),
        materials=materials,
        materials_verified=app.materials_verified,
        name_approved=app.name_approved,
        fee_paid=app.fee_paid,
        uscc=app.uscc,
    )
    if app.HasField("submitted_at"):
        partner.submitted_at.CopyFrom(app.submitted_at)
    if app.HasField("deadline"):
        partner.deadline.CopyFrom(app.deadline)
    return partner
