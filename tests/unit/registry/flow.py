"""Steps of an application's life, for tests: each returns what the use case returned."""

from __future__ import annotations

import itertools

from services.registry.domain.application import Application
from services.registry.domain.enterprise import EnterpriseDetails, required_signers
from services.registry.domain.names import NameDeclaration
from services.registry.domain.text import LocalText
from services.registry.service_layer import applicant, authority, signing
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import FakeIdentity, company

ITEM = "440605-HKMO-CO-EST"
AUTHORITY = "440605"
REASON = LocalText(zh_hant="材料不全", zh_hans="材料不全", en="incomplete")


_CHARS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
_names = itertools.count()


def fresh_trade_name() -> str:
    """A trade name no other test application of this process has used."""
    n = next(_names)
    return "湾" + _CHARS[n % len(_CHARS)] + _CHARS[(n // len(_CHARS)) % len(_CHARS)]


def document(material_type: str) -> bytes:
    return f"%PDF-1.7 {material_type}".encode()


async def drafted(
    registry: Registry, details: EnterpriseDetails | None = None, item: str = ITEM, request_id: str = ""
) -> Application:
    command = applicant.DraftApplication(request_id or registry.new_id(), item, "pseud-alice", details or company())
    return await applicant.draft(registry, command)


async def named(registry: Registry, app: Application, trade_name: str = "") -> Application:
    declaration = NameDeclaration("", trade_name or fresh_trade_name(), "贸易", "有限公司")
    return await applicant.declare_name(registry, applicant.DeclareName(app.application_id, declaration))


async def attach_all(registry: Registry, app: Application, *, sign: bool = True) -> Application:
    """Attach every mandatory material and have every required signer sign it."""
    item = registry.item_of(app)
    for requirement in item.materials:
        if not requirement.mandatory:
            continue
        content = document(requirement.material_type)
        command = applicant.AttachMaterial(app.application_id, requirement.material_type, "doc.pdf", "", content)
        app, material = await applicant.attach_material(registry, command)
        if sign:
            for signer in required_signers(app.enterprise, requirement):
                signature = FakeIdentity.sign(signer.certificate_sha256, content)
                command = signing.SignMaterial(app.application_id, material.material_id, signature)
                app, _ = await signing.sign_material(registry, command)
    return app


async def submitted(registry: Registry, app: Application | None = None, trade_name: str = "") -> Application:
    app = app or await drafted(registry)
    app = await named(registry, app, trade_name)
    app = await attach_all(registry, app)
    return await applicant.submit(registry, applicant.SubmitApplication(app.application_id))


async def paid(registry: Registry, app: Application, transfer_id: str = "tr-1") -> Application:
    from services.registry.service_layer.background import mark_fee_paid

    async with registry.uow() as work:
        await mark_fee_paid(work, app.fee.payment_reference, transfer_id, "CNY", app.fee.minor_units)
    return await _get(registry, app)


async def under_review(registry: Registry, trade_name: str = "") -> Application:
    app = await paid(registry, await submitted(registry, trade_name=trade_name))
    return await authority.start_review(registry, authority.StartReview(app.application_id, "officer-7", AUTHORITY))


async def _get(registry: Registry, app: Application) -> Application:
    async with registry.uow() as work:
        return await work.applications.get(app.application_id)
