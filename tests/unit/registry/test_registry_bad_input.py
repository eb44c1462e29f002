"""Bad input is INVALID_ARGUMENT with field violations in the caller's language; names are unique."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from baylink import errors
from services.registry.domain.application import Application
from services.registry.domain.enterprise import Money
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import Language, language_scope
from services.registry.service_layer import applicant, authority, signing
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import ALICE_CERT, BOB_CERT, MALLORY_CERT, FakeIdentity, cny, company
from tests.unit.registry.flow import AUTHORITY, REASON, attach_all, document, drafted, named, under_review


def fields(error: errors.InvalidInput) -> list[str]:
    return [v.field for v in error.violations]


async def declare(
    registry: Registry, app_id: str, trade: str, industry: str = "贸易", form: str = "有限公司"
) -> Application:
    declaration = NameDeclaration("", trade, industry, form)
    return await applicant.declare_name(registry, applicant.DeclareName(app_id, declaration))


def trade_name(app: Application) -> str | None:
    return app.name.trade_name if app.name else None


@pytest.mark.parametrize(
    ("trade", "industry", "form", "field"),
    [
        ("湾", "贸易", "有限公司", "name.trade_name"),  # one character
        ("Bay", "贸易", "有限公司", "name.trade_name"),  # not Chinese
        ("中国湾联", "贸易", "有限公司", "name.trade_name"),  # forbidden word
        ("湾联", "赌场", "有限公司", "name.industry"),  # not an industry (and forbidden)
        ("湾联", "贸易", "工作室", "name.organisational_form"),  # a form of individual businesses
    ],
)
async def test_an_invalid_name_is_refused_with_the_field_at_fault(
    registry: Registry, trade: str, industry: str, form: str, field: str
) -> None:
    app = await drafted(registry)
    with pytest.raises(errors.InvalidInput) as raised:
        await declare(registry, app.application_id, trade, industry, form)
    assert field in fields(raised.value)
    assert raised.value.reason == "INVALID_NAME"


async def test_a_full_name_must_be_division_trade_name_industry_form(registry: Registry) -> None:
    app = await drafted(registry)
    bad = NameDeclaration("广州市湾联贸易有限公司", "湾联", "贸易", "有限公司")
    with pytest.raises(errors.InvalidInput) as raised:
        await applicant.declare_name(registry, applicant.DeclareName(app.application_id, bad))
    assert fields(raised.value) == ["name.full_name"]
    good = NameDeclaration("佛山湾联贸易有限公司", "湾联", "贸易", "有限公司")
    app = await applicant.declare_name(registry, applicant.DeclareName(app.application_id, good))
    assert app.name is not None and app.name.full_name == "佛山湾联贸易有限公司"


async def test_the_same_trade_name_in_the_same_industry_and_city_is_refused(registry: Registry) -> None:
    first, second = await drafted(registry), await drafted(registry)
    await declare(registry, first.application_id, "珠江")
    with pytest.raises(errors.AlreadyExists):
        await declare(registry, second.application_id, "珠江")
    await declare(registry, second.application_id, "珠江", industry="科技")  # another industry is fine
    elsewhere = await drafted(registry, item="440300-HKMO-CO-EST")
    await declare(registry, elsewhere.application_id, "珠江")  # another city is fine


async def test_a_withdrawn_application_releases_its_name(registry: Registry) -> None:
    first, second = await drafted(registry), await drafted(registry)
    await declare(registry, first.application_id, "珠海湾")
    await applicant.withdraw(registry, applicant.WithdrawApplication(first.application_id, "pseud-alice"))
    assert trade_name(await declare(registry, second.application_id, "珠海湾")) == "珠海湾"


async def test_a_rejected_application_releases_its_name(registry: Registry) -> None:
    app = await under_review(registry, trade_name="飞鸿")
    await authority.reject(registry, authority.RejectApplication(app.application_id, "o", AUTHORITY, REASON))
    assert trade_name(await declare(registry, (await drafted(registry)).application_id, "飞鸿")) == "飞鸿"


async def test_a_reservation_lapses_after_its_period(registry: Registry, clock) -> None:  # type: ignore[no-untyped-def]
    first, second = await drafted(registry), await drafted(registry)
    await declare(registry, first.application_id, "南风")
    clock.now += timedelta(days=registry.name_reservation_days + 1)
    assert trade_name(await declare(registry, second.application_id, "南风")) == "南风"


async def test_redeclaring_frees_the_previous_name(registry: Registry) -> None:
    first, second = await drafted(registry), await drafted(registry)
    await declare(registry, first.application_id, "旧名")
    assert trade_name(await declare(registry, first.application_id, "新名")) == "新名"
    assert trade_name(await declare(registry, second.application_id, "旧名")) == "旧名"


async def test_submitting_without_the_required_materials_lists_each_missing_one(registry: Registry) -> None:
    app = await named(registry, await drafted(registry))
    with pytest.raises(errors.InvalidInput) as raised:
        await applicant.submit(registry, applicant.SubmitApplication(app.application_id))
    assert set(fields(raised.value)) == {
        f"materials[{t}]"
        for t in (
            "application_form",
            "articles_of_association",
            "appointment_documents",
            "investor_qualification",
            "premises_proof",
        )
    }


async def test_submitting_unsigned_materials_names_the_missing_signer(registry: Registry) -> None:
    app = await drafted(registry, company(two_investors=True))
    app = await attach_all(registry, await named(registry, app), sign=False)
    with pytest.raises(errors.InvalidInput) as raised:
        await applicant.submit(registry, applicant.SubmitApplication(app.application_id))
    descriptions = [v.description for v in raised.value.violations]
    assert "materials[articles_of_association].signatures" in fields(raised.value)
    assert any("陳澳門" in d for d in descriptions)  # Bob, the second investor, must sign too


async def attached(registry: Registry, material_type: str = "articles_of_association"):  # type: ignore[no-untyped-def]
    app = await drafted(registry, company(two_investors=True))
    command = applicant.AttachMaterial(app.application_id, material_type, "a.pdf", "", document(material_type))
    return await applicant.attach_material(registry, command)


async def test_a_signature_by_someone_not_named_in_the_application_is_refused(registry: Registry) -> None:
    app, material = await attached(registry)
    bad = FakeIdentity.sign(MALLORY_CERT, document("articles_of_association"))
    with pytest.raises(errors.InvalidInput) as raised:
        await signing.sign_material(registry, signing.SignMaterial(app.application_id, material.material_id, bad))
    assert raised.value.reason == "SIGNER_NOT_PARTY"


async def test_the_legal_representatives_form_is_not_signed_by_an_investor(registry: Registry) -> None:
    app, material = await attached(registry, "application_form")
    bob = FakeIdentity.sign(BOB_CERT, document("application_form"))
    with pytest.raises(errors.InvalidInput):
        await signing.sign_material(registry, signing.SignMaterial(app.application_id, material.material_id, bob))


async def test_a_signature_over_another_document_is_refused_and_the_registry_sent_the_digest(
    registry: Registry, identity: FakeIdentity
) -> None:
    app, material = await attached(registry)
    other = FakeIdentity.sign(ALICE_CERT, b"some other document")
    with pytest.raises(errors.InvalidInput) as raised:
        await signing.sign_material(registry, signing.SignMaterial(app.application_id, material.material_id, other))
    assert raised.value.reason == "SIGNATURE_INVALID" and "HASH_FAILURE" in raised.value.message
    assert identity.calls[-1][1] == material.sha256


async def test_signatures_verify_one_signer_at_a_time(registry: Registry) -> None:
    app, material = await attached(registry)
    content = document("articles_of_association")
    for cert, verified in ((ALICE_CERT, False), (BOB_CERT, True)):
        command = signing.SignMaterial(app.application_id, material.material_id, FakeIdentity.sign(cert, content))
        app, material = await signing.sign_material(registry, command)
        assert app.materials_verified(registry.item_of(app)) is False  # other materials are missing
        assert (len(material.signatures) == 2) is verified


async def test_identity_not_able_to_decide_yet_is_unavailable(registry: Registry) -> None:
    app, material = await attached(registry)
    command = signing.SignMaterial(app.application_id, material.material_id, b"try-later")
    with pytest.raises(errors.Unavailable):
        await signing.sign_material(registry, command)


async def test_a_material_whose_digest_the_client_got_wrong_is_refused(registry: Registry) -> None:
    app = await drafted(registry)
    command = applicant.AttachMaterial(app.application_id, "premises_proof", "p.pdf", "", b"lease", b"\x00" * 32)
    with pytest.raises(errors.InvalidInput) as raised:
        await applicant.attach_material(registry, command)
    assert fields(raised.value) == ["sha256"]


@pytest.mark.parametrize("minor_units", [0, -100])
async def test_a_capital_that_is_not_a_positive_amount_is_refused(registry: Registry, minor_units: int) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        await drafted(registry, company(Money("CNY", minor_units)))
    assert "enterprise.registered_capital.minor_units" in fields(raised.value)


async def test_investors_subscriptions_must_add_up_to_the_capital(registry: Registry) -> None:
    details = company(cny(100))
    details = replace(details, registered_capital=cny(200))
    with pytest.raises(errors.InvalidInput) as raised:
        await drafted(registry, details)
    assert fields(raised.value) == ["enterprise.investors"]


async def test_an_unknown_catalogue_item_is_invalid_argument(registry: Registry) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        await drafted(registry, item="440605-NO-SUCH-ITEM")
    assert fields(raised.value) == ["catalogue_item_id"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.ZH_HANT, "必須是正數金額"),
        (Language.ZH_HANS, "必须是正数金额"),
        (Language.EN, "must be a positive amount"),
    ],
)
async def test_refusals_are_in_the_callers_language(registry: Registry, language: Language, expected: str) -> None:
    with language_scope(language), pytest.raises(errors.InvalidInput) as raised:
        await drafted(registry, company(Money("HKD", 0)))
    assert raised.value.violations[0].description == expected
