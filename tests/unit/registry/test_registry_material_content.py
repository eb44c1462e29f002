"""GetMaterialContent: the deciding authority reads the bytes of a handed-in application's current
materials, through the real gRPC edge; anyone else, a draft, or a replaced version is refused."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from services.registry.service_layer import applicant, authority
from services.registry.service_layer.context import Registry
from tests.unit.registry.flow import AUTHORITY, REASON, document, drafted, submitted, under_review


def read(application_id: str, material_id: str, authority_code: str = AUTHORITY) -> rs.GetMaterialContentRequest:
    return rs.GetMaterialContentRequest(
        application_id=application_id, material_id=material_id, authority_code=authority_code
    )


async def refused(stub: rs_grpc.RegistryServiceStub, request: rs.GetMaterialContentRequest) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetMaterialContent(request)
    return raised.value


async def test_the_deciding_authority_reads_each_material_s_exact_bytes(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    app = await submitted(registry)
    assert app.materials
    for material in app.materials.values():
        response = await stub.GetMaterialContent(read(app.application_id, material.material_id))
        assert response.content == document(material.material_type)
        assert response.material.material_id == material.material_id
        assert response.material.sha256 == hashlib.sha256(response.content).digest()
        assert response.material.size_bytes == len(response.content)


async def test_another_authority_is_permission_denied_and_none_is_invalid(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    app = await submitted(registry)
    material_id = next(iter(app.materials.values())).material_id

    other = await refused(stub, read(app.application_id, material_id, "440300"))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED
    missing = await refused(stub, read(app.application_id, material_id, ""))
    assert missing.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_draft_is_not_the_authority_s_to_read_yet(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    app = await drafted(registry)
    attached, material = await applicant.attach_material(
        registry, applicant.AttachMaterial(app.application_id, "articles_of_association", "a.pdf", "", b"%PDF-1.7 x")
    )
    error = await refused(stub, read(attached.application_id, material.material_id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "DRAFT" in (error.details() or "")


async def test_an_unknown_or_replaced_material_is_not_found(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    app = await under_review(registry)
    old = next(iter(app.materials.values()))
    returned = await authority.return_for_correction(
        registry, authority.ReturnApplication(app.application_id, "officer-7", AUTHORITY, REASON, (old.material_type,))
    )
    replaced, new = await applicant.attach_material(
        registry, applicant.AttachMaterial(returned.application_id, old.material_type, "b.pdf", "", b"%PDF-1.7 v2")
    )

    gone = await refused(stub, read(app.application_id, old.material_id))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    unknown = await refused(stub, read(app.application_id, "no-such-material"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert (await stub.GetMaterialContent(read(replaced.application_id, new.material_id))).content == b"%PDF-1.7 v2"


async def test_content_is_read_in_pieces_from_an_offset_and_bad_ranges_are_refused(
    registry: Registry, stub: rs_grpc.RegistryServiceStub
) -> None:
    app = await submitted(registry)
    material = next(iter(app.materials.values()))
    whole = document(material.material_type)
    pieces, offset = [], 0
    while offset < len(whole):
        request = read(app.application_id, material.material_id)
        request.offset, request.max_bytes = offset, 5
        response = await stub.GetMaterialContent(request)
        assert response.offset == offset and 0 < len(response.content) <= 5
        pieces.append(response.content)
        offset += len(response.content)
    assert b"".join(pieces) == whole

    past = read(app.application_id, material.material_id)
    past.offset = len(whole) + 1
    assert (await refused(stub, past)).code() == grpc.StatusCode.INVALID_ARGUMENT
    negative = read(app.application_id, material.material_id)
    negative.max_bytes = -1
    assert (await refused(stub, negative)).code() == grpc.StatusCode.INVALID_ARGUMENT
