"""signature_evidence on SQLite and PostgreSQL: stored bytes and times come back as they went in."""

from __future__ import annotations

from datetime import UTC, datetime

from services.registry.bootstrap import RegistryService
from services.registry.service_layer.ports import SignatureEvidence, Stamped, ValidationData


def _evidence(signer: str, token: bytes, at: datetime) -> SignatureEvidence:
    data = ValidationData((b"\x30\x82leaf", b"\x30\x82ca"), (b"\x30\x03ocsp\x00\xff",), (b"\x30crl",))
    stamped = Stamped(b"\x30\x80cms\x00" + token, token, at)
    return SignatureEvidence("app-1", "material-1", signer, "ab" * 32, stamped, data, at)


async def test_evidence_is_kept_byte_for_byte_and_replaced_per_signer(registry_on: RegistryService) -> None:
    first = datetime(2026, 12, 6, 21, 0, 0, 123000, tzinfo=UTC)
    later = datetime(2026, 12, 6, 21, 5, tzinfo=UTC)
    async with registry_on.registry.uow() as work:
        await work.evidence.put(_evidence("alice", b"token-1", first))
        await work.evidence.put(_evidence("bob", b"token-2", first))
    async with registry_on.registry.uow() as work:
        await work.evidence.put(_evidence("alice", b"token-3", later))  # signed again: replaces hers
    async with registry_on.registry.uow() as work:
        kept = await work.evidence.of_application("app-1")
        assert await work.evidence.of_application("app-2") == []
    assert [(e.signer_ref, e.stamped.token, e.stored_at) for e in kept] == [
        ("bob", b"token-2", first),
        ("alice", b"token-3", later),
    ]
    assert kept[0] == _evidence("bob", b"token-2", first)
