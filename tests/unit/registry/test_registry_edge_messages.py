"""The messages the gRPC edge keeps (``EdgeMessages``): an application's per version, the catalogue's
per catalogue; a change made anywhere is answered afresh."""

from __future__ import annotations

import dataclasses

from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from services.registry.adapters import proto_mapping as mapping
from services.registry.domain.application import Application, State
from services.registry.domain.catalogue import Catalogue
from services.registry.domain.enterprise import required_signers
from services.registry.domain.text import LocalText
from services.registry.service_layer import applicant, authority, queries, signing
from services.registry.service_layer.background import flag_overdue
from services.registry.service_layer.context import Registry
from tests.unit.registry.fakes import FakeIdentity
from tests.unit.registry.flow import AUTHORITY, ITEM, REASON, document, drafted, named, paid, submitted


async def answered_as_read(registry: Registry, app: Application) -> Application:
    """What a command returned maps to the message a later read of the version it saved maps to:
    the premise of keeping the command's message for that version."""
    read = await queries.get_application(registry, app.application_id)
    assert read.version == app.version
    item = registry.item_of(app)
    assert mapping.application(app, item) == mapping.application(read, item)
    return app


async def attached_and_signed(registry: Registry, app: Application) -> Application:
    item = registry.item_of(app)
    for requirement in item.materials:
        if not requirement.mandatory or requirement.material_type in app.materials:
            continue
        content = document(requirement.material_type)
        command = applicant.AttachMaterial(app.application_id, requirement.material_type, "doc.pdf", "", content)
        app, material = await applicant.attach_material(registry, command)
        await answered_as_read(registry, app)
        for signer in required_signers(app.enterprise, requirement):
            signature = FakeIdentity.sign(signer.certificate_sha256, content)
            command = signing.SignMaterial(app.application_id, material.material_id, signature)
            app, _ = await signing.sign_material(registry, command)
            await answered_as_read(registry, app)
    return app


async def test_every_command_answers_what_a_read_of_the_version_it_saved_answers(registry: Registry) -> None:
    app = await answered_as_read(registry, await drafted(registry))
    app = await answered_as_read(registry, await named(registry, app))
    app = await attached_and_signed(registry, app)
    app = await applicant.submit(registry, applicant.SubmitApplication(app.application_id))
    app = await answered_as_read(registry, app)
    app = await answered_as_read(registry, await paid(registry, app))
    review = authority.StartReview(app.application_id, "officer-7", AUTHORITY)
    app = await answered_as_read(registry, await authority.start_review(registry, review))
    back = authority.ReturnApplication(app.application_id, "officer-7", AUTHORITY, REASON, ("articles_of_association",))
    app = await answered_as_read(registry, await authority.return_for_correction(registry, back))
    app = await attached_and_signed(registry, app)
    app = await applicant.resubmit(registry, applicant.ResubmitApplication(app.application_id))
    app = await answered_as_read(registry, app)
    app = await answered_as_read(registry, await authority.start_review(registry, review))
    approve = authority.ApproveApplication(app.application_id, "officer-7", AUTHORITY)
    app = await answered_as_read(registry, await authority.approve(registry, approve))
    assert app.state is State.APPROVED and app.licence is not None and app.last_decision is not None

    other = await paid(registry, await submitted(registry))
    await authority.start_review(registry, authority.StartReview(other.application_id, "officer-7", AUTHORITY))
    reject = authority.RejectApplication(other.application_id, "officer-7", AUTHORITY, REASON)
    await answered_as_read(registry, await authority.reject(registry, reject))


async def test_a_read_after_a_change_made_outside_the_edge_answers_the_new_version(
    registry: Registry, stub: rs_grpc.RegistryServiceStub, clock
) -> None:  # type: ignore[no-untyped-def]
    app = await submitted(registry)
    get = rs.GetApplicationRequest(application_id=app.application_id)
    first = (await stub.GetApplication(get)).application
    assert (await stub.GetApplication(get)).application == first  # kept, and answered the same
    assert not first.fee_paid

    # The fee consumer pays the fee in a transaction of its own (another replica's edge could have
    # made the change as well): the next read answers the new version, not the kept one.
    app = await paid(registry, app)
    after = (await stub.GetApplication(get)).application
    assert after.fee_paid and after.version == app.version == first.version + 1
    assert after == mapping.application(app, registry.item_of(app))

    # So does the overdue watcher's flag, past the deadline.
    clock.now = app.deadline + (app.deadline - app.submitted_at)
    assert await flag_overdue(registry) == 1
    overdue = (await stub.GetApplication(get)).application
    assert overdue.overdue and overdue.version == after.version + 1

    # A command through the edge keeps its answer for the version it saved, and a read answers it.
    review = rs.StartReviewRequest(application_id=app.application_id, reviewer_id="o", authority_code=AUTHORITY)
    reviewed = (await stub.StartReview(review)).application
    assert (await stub.GetApplication(get)).application == reviewed
    assert reviewed.state != overdue.state and reviewed.version == overdue.version + 1


async def test_a_read_of_an_older_version_neither_answers_nor_displaces_the_newer_one(registry: Registry) -> None:
    messages = mapping.EdgeMessages(max_applications=2)
    old = await drafted(registry)
    old_message = messages.application(old, registry.item_of(old))
    new = await named(registry, await queries.get_application(registry, old.application_id))
    new_message = messages.application(new, registry.item_of(new))
    assert new_message.name.trade_name and not old_message.name.trade_name
    # A read that began before the command committed maps afresh and leaves the newer message kept.
    assert messages.application(old, registry.item_of(old)) == old_message
    assert messages.application(new, registry.item_of(new)) is new_message

    # At most ``max_applications`` applications are kept: the least recently mapped goes first.
    others = [await drafted(registry) for _ in range(2)]
    for other in others:
        messages.application(other, registry.item_of(other))
    assert messages.application(new, registry.item_of(new)) is not new_message
    assert messages.application(others[1], registry.item_of(others[1])) is messages.application(
        others[1], registry.item_of(others[1])
    )


async def test_the_catalogue_messages_follow_the_catalogue_the_registry_has(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    listed = (await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=50))).items
    one = (await stub.GetCatalogueItem(rs.GetCatalogueItemRequest(item_id=ITEM))).item
    assert one in listed and len(listed) == len(registry.catalogue)
    assert (await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=50))).items == listed

    # The registry is given another catalogue: the item's new title, and only the new catalogue's items.
    renamed = dataclasses.replace(
        registry.catalogue.get(ITEM), title=LocalText(zh_hant="新名稱", zh_hans="新名称", en="New title")
    )
    registry.catalogue = Catalogue([renamed])
    again = (await stub.GetCatalogueItem(rs.GetCatalogueItemRequest(item_id=ITEM))).item
    assert again.title.en == "New title" and again != one
    relisted = (await stub.ListCatalogueItems(rs.ListCatalogueItemsRequest(page_size=50))).items
    assert list(relisted) == [again]
