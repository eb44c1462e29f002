"""The gateway on PostgreSQL (audit log and bindings in one database, as at scale): a person identified
at a kiosk and an application drafted for them, with the audit chain intact afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.adapters.keys import Ed25519Verifier
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.service_layer.verify import verify_log
from tests.conftest import postgres_database
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_identify_and_draft_with_the_gateway_on_postgresql(tmp_path: Path, kafka_settings: KafkaSettings) -> None:
    pki = build_pki(tmp_path / "testpki")
    async with (
        postgres_database() as url,
        running_stack(tmp_path, kafka_settings, pki, with_payments=False, database_url=url) as stack,
    ):
        kiosk = KioskUser(stack.kiosk, pki)
        await kiosk.open()
        identified = await kiosk.identify(CHAN)
        assert identified.status_code == 200, identified.text
        drafted = await kiosk.draft(identified.json()["person"], "湾壬")
        assert drafted["application"]["state"] == "draft"

        await stack.gateway.parts.audit.checkpoint_if_due(force=True)
        signer = stack.gateway.parts.audit.signer
        report = await verify_log(SqlAuditStore(stack.gateway.host.db), Ed25519Verifier([signer.public_key]))
        assert report.ok and report.records >= 4, report.finding
