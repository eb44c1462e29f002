"""Settings of the identity service (``BAYLINK_IDENTITY_*``), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from baylink.runtime.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: ClassVar[str] = "identity"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_IDENTITY_", extra="forbid")

    grpc_port: int = Field(default=50051, ge=0, le=65535)
    metrics_port: int = Field(default=9101, ge=0, le=65535)

    # Signed trust lists loaded at start-up (one per jurisdiction); unset: only those stored before.
    # Production points at the scheme's; `make up` at the test PKI's (deploy/services.sh sets both).
    trust_lists_dir: Path | None = None
    # Certificates allowed to sign each jurisdiction's list: {"HK": ["/path/signer.pem"], ...}.
    trusted_list_signers: dict[str, list[Path]] = Field(default_factory=dict)
    revocation_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    validation_deadline_seconds: float = Field(default=10.0, gt=0, le=60)
    # Hosts revocation data may be fetched from (empty: any host named in a certificate).
    revocation_allowed_hosts: list[str] = Field(default_factory=list)
    # Fact events of concurrent calls share a commit: a busy worker commits them at most this
    # often (FactRecorder.commit_interval); an idle one at once. 0: every commit as soon as possible.
    # A busy worker's call waits up to this long for its commit; each commit saved is CPU saved.
    fact_commit_interval_seconds: float = Field(default=0.01, ge=0, le=0.1)
