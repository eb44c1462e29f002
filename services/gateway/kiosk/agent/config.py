"""Settings of the kiosk agent (``BAYLINK_KIOSK_AGENT_*``), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.gateway.partner.adapters.pki import DEFAULT_PKI_DIR


class KioskAgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAYLINK_KIOSK_AGENT_", extra="forbid")

    kiosk_id: str = "LOCAL-01"  # whose device certificate (under pki_dir) the agent presents
    host: str = "127.0.0.1"  # the kiosk's own browser only: never a public address
    port: int = Field(default=8080, ge=0, le=65535)
    gateway_url: str = "https://127.0.0.1:8443"  # the gateway's kiosk door (mutual TLS)
    pki_dir: Path = DEFAULT_PKI_DIR
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
