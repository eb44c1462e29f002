"""faust-streaming works against our broker: an agent consumes, a table keeps a changelog, results are produced."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from baylink.runtime.kafka import client_kwargs, close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from tests.support.topics import read_topic

pytestmark = pytest.mark.kafka


async def test_a_faust_agent_with_a_changelog_table_processes_every_message(
    kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    inbound, outbound = await new_topic("faust.in", partitions=1), await new_topic("faust.out", partitions=1)
    app_id = f"faust-probe-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "FAUST_PROBE_APP_ID": app_id, "FAUST_PROBE_IN": inbound, "FAUST_PROBE_OUT": outbound}
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "faust",
        "-A",
        "tests.support.faust_probe",
        "worker",
        "--without-web",
        "-l",
        "warn",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        producer = AIOKafkaProducer(**client_kwargs(kafka_settings), enable_idempotence=True)
        await producer.start()
        for i in range(30):
            await producer.send_and_wait(inbound, f"m{i}".encode(), key=f"k{i % 3}".encode())
        await producer.stop()

        results = await read_topic(kafka_settings, outbound, expected=30, timeout=90)
        assert len(results) == 30
        last = {r.key: r.value.decode() for r in results}
        assert last == {b"k0": "m27:10", b"k1": "m28:10", b"k2": "m29:10"}  # each key counted to 10

        admin = new_admin(kafka_settings)
        await admin.start()
        topics = await admin.list_topics()
        await close_quietly(admin)
        assert f"{app_id}-counts-changelog" in topics  # the table is backed by a changelog topic
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 60)
        admin = new_admin(kafka_settings)
        await admin.start()
        await admin.delete_topics([t for t in await admin.list_topics() if t.startswith(app_id)])
        await close_quietly(admin)
