"""Settings of the flow worker (``BAYLINK_FLOWS_*``); the broker comes from ``BAYLINK_KAFKA_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from baylink.runtime.settings import InternalTransportSettings, KafkaSettings


class FlowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAYLINK_FLOWS_", extra="forbid")

    app_id: str = "baylink-gateway-flows"  # the consumer group, and the prefix of the changelog topics
    registry_topic: str = "baylink.registry.v1"
    payments_topic: str = "baylink.payments.v1"
    sink_topic: str = "baylink.gateway.v1"
    partitions: int = Field(default=6, ge=1, le=1000)  # as our service topics; the table's changelog has as many
    flow_type: str = "company_registration"
    channel: str = "kiosk"

    # Payments, for refunds.
    payments_target: str = "127.0.0.1:50053"
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Timeouts: an unpaid fee this long after it was raised is reported overdue (once); the whole
    # table is scanned for that (and for refunds still owed after a restart) every timer interval.
    fee_overdue_seconds: float = Field(default=30 * 60.0, gt=0)
    timer_interval_seconds: float = Field(default=30.0, gt=0)
    # A refund that failed (payments unreachable, the fee not yet committed) is tried again this soon,
    # not at the next scan: a person waits for their money back, an overdue report can wait.
    refund_retry_seconds: float = Field(default=2.0, gt=0, le=300)
    # How long the group waits for a worker that stopped answering (killed, frozen) before its
    # partitions go to the others; faust's own default is 60 s, during which those flows stand still.
    # Kafka brokers refuse less than 6 s (group.min.session.timeout.ms); heartbeats go every 3 s.
    session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    log_level: str = "warn"

    # Surviving a worker's death: the flow table's changelog is on Kafka; each worker keeps its table
    # under a data directory of its own (two workers must never share one: a rocksdb store locks it);
    # ``standby_replicas`` other workers keep a warm copy of each partition; a worker that stops
    # heartbeating (kill -9) is out of the group after ``session_timeout_seconds`` (above).
    datadir: Path | None = None  # default .local/faust/<app id>-data
    store: str = "memory://"  # or "rocksdb://" (needs the rocksdict package): restored from the changelog on start
    standby_replicas: int = Field(default=1, ge=0, le=5)

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    internal: InternalTransportSettings = Field(default_factory=InternalTransportSettings)

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value not in ("memory://", "rocksdb://"):
            raise ValueError("store must be memory:// or rocksdb://")
        return value
