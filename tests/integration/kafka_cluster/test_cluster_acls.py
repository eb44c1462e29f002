"""`apply_acls` on the cluster: it converges on the declaration, both ways."""

from __future__ import annotations

import uuid

import pytest

from baylink.runtime.acls import PrincipalSpec, apply_acls, describe_acls
from baylink.runtime.kafka import close_quietly, new_admin
from tests.integration.kafka_cluster.conftest import Cluster

pytestmark = pytest.mark.kafka_cluster


async def test_apply_creates_what_is_declared_and_revokes_what_no_longer_is(kafka_cluster: Cluster) -> None:
    name = f"test-{uuid.uuid4().hex[:6]}"  # ACLs need no user: the principal is only a name here
    wide = PrincipalSpec(
        name, produce=("baylink.gateway.v1",), consume=("baylink.dlq.v1",), groups=(f"{name}-",),
        describe_groups=(f"watched-{name}",),
    )  # fmt: skip
    narrow = PrincipalSpec(name, consume=("baylink.dlq.v1",))
    admin = new_admin(kafka_cluster.settings("ops"))
    await admin.start()
    try:
        created = await apply_acls(admin, [wide])
        assert created is not None and len(created) == 6
        assert await apply_acls(admin, [wide]) == []  # idempotent
        revoked = await apply_acls(admin, [narrow])
        assert revoked is not None and sorted(revoked) == sorted(f"revoked {acl}" for acl in wide.acls - narrow.acls)
        held = {a for a in await describe_acls(admin) or [] if a.principal == wide.principal}
        assert held == narrow.acls
    finally:
        await apply_acls(admin, [PrincipalSpec(name)])  # nothing declared: everything revoked
        await close_quietly(admin)
