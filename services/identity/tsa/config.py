"""Settings of the time-stamping authority process (``BAYLINK_TSA_*``), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from baylink.runtime.settings import LOCAL_DIR
from services.identity.tsa.authority import BAYLINK_TSA_POLICY


class TsaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAYLINK_TSA_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8398, ge=0, le=65535)
    # The TSA's certificate (PEM), its PKCS#8 key (PEM) and the CA certificates up to the root (PEM bundle).
    cert_file: Path
    key_file: Path
    chain_file: Path | None = None
    # Where serial numbers are counted (see serials.py); one process per file.
    serial_file: Path = LOCAL_DIR / "tsa" / "serial"
    policy: str = Field(default=BAYLINK_TSA_POLICY, pattern=r"^[0-2](\.(0|[1-9][0-9]*))+$")
    accuracy_ms: int = Field(default=1000, ge=1, le=60_000)
    max_request_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
