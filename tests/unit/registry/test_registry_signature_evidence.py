"""Every stored signature is time-stamped and kept with its validation data; a TSA outage stores nothing."""

from __future__ import annotations

import pytest

from baylink import errors
from services.registry.service_layer import applicant, signing
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import ALICE_CERT, MALLORY_CERT, FakeIdentity, FakeTimeStamper, company
from tests.unit.registry.flow import document, drafted


async def _attached(registry: Registry):  # type: ignore[no-untyped-def]
    app = await drafted(registry, company(two_investors=True))
    content = document("articles_of_association")
    command = applicant.AttachMaterial(app.application_id, "articles_of_association", "a.pdf", "", content)
    app, material = await applicant.attach_material(registry, command)
    return app, material, content


async def test_a_stored_signature_is_the_stamped_cms_beside_its_validation_data(
    registry: Registry, timestamps: FakeTimeStamper
) -> None:
    app, material, content = await _attached(registry)
    signature = FakeIdentity.sign(ALICE_CERT, content)
    await signing.sign_material(registry, signing.SignMaterial(app.application_id, material.material_id, signature))
    async with registry.uow() as work:
        [evidence] = await work.evidence.of_application(app.application_id)
    assert evidence.material_id == material.material_id and evidence.certificate_sha256 == ALICE_CERT
    assert evidence.stamped.cms_signature == signature + b":fake-token:1"
    assert evidence.stamped.token == b"fake-token:1"
    assert evidence.validation_data.certificates == (b"fake-certificate:" + ALICE_CERT.encode(),)
    assert evidence.validation_data.ocsp_responses == (b"fake-ocsp",)
    assert timestamps.stamped == [signature]


async def test_signing_again_replaces_the_evidence_of_that_signer(registry: Registry) -> None:
    app, material, content = await _attached(registry)
    for _ in range(2):
        command = signing.SignMaterial(app.application_id, material.material_id, FakeIdentity.sign(ALICE_CERT, content))
        await signing.sign_material(registry, command)
    async with registry.uow() as work:
        [evidence] = await work.evidence.of_application(app.application_id)
    assert evidence.stamped.token == b"fake-token:2"


async def test_with_the_tsa_down_the_call_is_unavailable_and_nothing_is_stored(
    registry: Registry, timestamps: FakeTimeStamper
) -> None:
    app, material, content = await _attached(registry)
    timestamps.down = True
    command = signing.SignMaterial(app.application_id, material.material_id, FakeIdentity.sign(ALICE_CERT, content))
    with pytest.raises(errors.Unavailable) as raised:
        await signing.sign_material(registry, command)
    assert raised.value.reason == "TSA_UNAVAILABLE"
    async with registry.uow() as work:
        assert await work.evidence.of_application(app.application_id) == []
        assert (await work.applications.get(app.application_id)).material(material.material_id).signatures == []


async def test_a_signer_who_is_not_a_party_is_refused_before_the_tsa_is_asked(
    registry: Registry, timestamps: FakeTimeStamper
) -> None:
    app, material, content = await _attached(registry)
    command = signing.SignMaterial(app.application_id, material.material_id, FakeIdentity.sign(MALLORY_CERT, content))
    with pytest.raises(errors.InvalidInput):
        await signing.sign_material(registry, command)
    assert timestamps.stamped == []
