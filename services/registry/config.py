"""Settings of the registry service (``BAYLINK_REGISTRY_*``), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from baylink.runtime.settings import ServiceSettings
from services.registry.adapters.calendar_file import CALENDAR_FILE
from services.registry.adapters.catalogue_file import CATALOGUE_DIR, NAME_RULES_FILE


class RegistrySettings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_REGISTRY_", extra="forbid")

    grpc_port: int = Field(default=50052, ge=0, le=65535)
    metrics_port: int = Field(default=9102, ge=0, le=65535)

    # The identity service, which verifies every signature on a material.
    identity_target: str = "127.0.0.1:50051"
    identity_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Baylink's time-stamping authority (RFC 3161 over HTTP): every stored signature is time-stamped.
    tsa_url: str = Field(default="http://127.0.0.1:8398/", pattern=r"^https?://")
    tsa_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    catalogue_dir: Path = CATALOGUE_DIR
    name_rules_file: Path = NAME_RULES_FILE
    calendar_file: Path = CALENDAR_FILE

    # How long a declared name stays reserved for its application (calendar days).
    name_reservation_days: int = Field(default=30, ge=1, le=365)
    max_material_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
    # How often passed deadlines are looked for.
    overdue_check_seconds: float = Field(default=60.0, gt=0, le=3600)

    # Where committed transfers arrive, and the consumer group that applies them.
    payments_topic: str = "baylink.payments.v1"
    fees_group_id: str = "registry.fees"
    # Empty: events go to their type's topic (baylink.registry.v1). Tests and benchmarks name their own.
    events_topic: str = ""
