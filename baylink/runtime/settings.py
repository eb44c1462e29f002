"""Typed settings: one class per service, validated at start-up.

Each service subclasses ``ServiceSettings`` with ``env_prefix="BAYLINK_<SERVICE>_"``.
Kafka is cluster-wide, so it has one prefix for all (``BAYLINK_KAFKA_``). Nothing
else in Baylink reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAYLINK_KAFKA_", extra="forbid")

    bootstrap_servers: str = "127.0.0.1:9092"
    # 1 on the local single-node broker, 3 on a cluster (min.insync.replicas follows).
    replication_factor: int = Field(default=1, ge=1, le=7)
    topics_file: Path = REPO_ROOT / "deploy" / "kafka" / "topics.toml"
    request_timeout_ms: int = Field(default=15_000, ge=1_000)
    # How long a consumer group waits for a member that stopped heartbeating (kill -9, a lost
    # machine) before its partitions go to the others: the floor of a consumer's failover time
    # (docs/chaos.md). Brokers refuse less than 6 s; heartbeats go every third of it.
    session_timeout_ms: int = Field(default=8_000, ge=6_000, le=300_000)
    dlq_topic: str = "baylink.dlq.v1"

    # Security: PLAINTEXT on the local dev broker; SASL_SSL with a SCRAM user per service on a
    # cluster (deploy/kafka/cluster.sh client-env SERVICE prints the variables). Clients are built
    # from these by baylink.runtime.kafka.client_kwargs, and nowhere else.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: Path | None = None  # None: the system's trusted CAs

    @model_validator(mode="after")
    def _security_is_consistent(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_username and self.sasl_password.get_secret_value()):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_username and sasl_password")
        if not sasl and self.sasl_username:
            raise ValueError(f"sasl_username is set but security_protocol {self.security_protocol} does not use SASL")
        if self.ssl_cafile is not None and not self.security_protocol.endswith("SSL"):
            raise ValueError(f"ssl_cafile is set but security_protocol {self.security_protocol} does not use TLS")
        if self.ssl_cafile is not None and not self.ssl_cafile.is_file():
            raise ValueError(f"ssl_cafile {self.ssl_cafile} is not a file")
        return self


class InternalTransportSettings(BaseSettings):
    """How services talk to each other: mutual TLS with the internal CA's certificates
    (``baylink pki init``), unless ``BAYLINK_INSECURE_INTERNAL=1`` says plaintext explicitly.

    The files default to ``<pki_dir>/ca.crt`` and ``<pki_dir>/<identity>.crt|.key``, the identity
    being the process's service name; ``BAYLINK_INTERNAL_CERT_FILE`` etc. name others."""

    model_config = SettingsConfigDict(env_prefix="BAYLINK_INTERNAL_", extra="forbid")

    insecure: bool = Field(default=False, validation_alias="BAYLINK_INSECURE_INTERNAL")
    pki_dir: Path = LOCAL_DIR / "pki" / "internal"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class ServiceSettings(BaseSettings):
    """What every service process needs; subclasses add their own fields."""

    service_name: ClassVar[str] = "service"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_SERVICE_", extra="forbid")

    grpc_host: str = "127.0.0.1"  # internal gRPC listens on loopback unless told otherwise
    grpc_port: int = Field(default=0, ge=0, le=65535)  # 0: the OS picks (tests)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    database_url: str = ""  # empty: a SQLite file under .local/<service>/
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Shutdown: NOT_SERVING first, keep answering for drain_delay so probes see
    # it, then refuse new calls and give in-flight ones shutdown_grace to finish.
    drain_delay_seconds: float = Field(default=1.0, ge=0, le=60)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)

    # Processes serving the one gRPC port (SO_REUSEPORT; see baylink/runtime/workers.py): more than
    # one lets a CPU-bound service use more than one core.
    workers: int = Field(default=1, ge=1, le=64)
    # On a fixed grpc_port, the addresses go to .local/run/<service>.json once serving (`make up`
    # reads them); benchmarks and tests on port 0 never announce (workers of one are told so).
    announce: bool = True
    # Where the addresses are announced: one directory per replica when several run on one machine.
    run_dir: Path = LOCAL_DIR / "run"

    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # Retention sweep (baylink/runtime/retention.py): sent outbox rows kept a week; processed event
    # ids remembered longer than the longest retention of the topics consumed (30 days) so that a
    # late redelivery is still a duplicate.
    outbox_retention_hours: float = Field(default=168, gt=0)
    inbox_retention_hours: float = Field(default=840, gt=0)
    retention_sweep_seconds: float = Field(default=600, gt=0, le=86_400)
    # SQLite only: the WAL is checkpointed in the background this often (baylink/runtime/checkpoint.py).
    sqlite_checkpoint_seconds: float = Field(default=0.25, gt=0, le=3600)
    consumer_max_attempts: int = Field(default=3, ge=1, le=100)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0, le=60)

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    internal: InternalTransportSettings = Field(default_factory=InternalTransportSettings)

    @model_validator(mode="after")
    def _default_database(self) -> ServiceSettings:
        if not self.database_url:
            path = LOCAL_DIR / self.service_name / f"{self.service_name}.db"
            self.database_url = f"sqlite+aiosqlite:///{path}"
        return self

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of this service's events."""
        return f"/baylink/{self.service_name}"
