"""A faust-streaming app for the compatibility test: an agent, a changelog-backed table, an output topic.

Run as ``python -m faust -A tests.support.faust_probe worker --without-web -l warn``; the
app id and topics come from the environment so each test run has its own.
"""

from __future__ import annotations

import os

import faust

from services.gateway.flows.worker import faust_datadir

APP_ID = os.environ["FAUST_PROBE_APP_ID"]
app = faust.App(
    APP_ID,
    broker=f"kafka://{os.environ.get('BAYLINK_KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092')}",
    store="memory://",
    topic_partitions=1,
    topic_replication_factor=1,
    web_enabled=False,
    datadir=faust_datadir(),
)
inbound = app.topic(os.environ["FAUST_PROBE_IN"], key_type=bytes, value_type=bytes, value_serializer="raw")
outbound = app.topic(os.environ["FAUST_PROBE_OUT"], key_type=bytes, value_type=bytes, value_serializer="raw")
counts = app.Table("counts", default=int)


@app.agent(inbound)
async def count(stream: faust.StreamT) -> None:
    async for key, value in stream.items():
        counts[key] += 1
        await outbound.send(key=key, value=f"{value.decode()}:{counts[key]}".encode())
