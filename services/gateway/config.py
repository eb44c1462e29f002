"""Settings of the gateway (``BAYLINK_GATEWAY_*``), validated at start-up.

Nested values come from JSON in one variable (``BAYLINK_GATEWAY_CITY_SCOPES='{"440300": ["applications:read"]}'``)
or ``__`` paths (``BAYLINK_GATEWAY_PARTNER_GUARD__BURST=20``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from baylink.runtime.settings import LOCAL_DIR, ServiceSettings
from services.gateway.audit.adapters.keys import DEFAULT_AUDIT_KEY
from services.gateway.audit.adapters.trust import DEFAULT_TRUSTED_AUDIT_KEYS, check_trust_dir
from services.gateway.audit.domain.chain import CheckpointPolicy
from services.gateway.binding.domain.model import BindingPolicy
from services.gateway.partner.adapters.pki import DEFAULT_PKI_DIR
from services.gateway.partner.domain.cities import PARTNER_CITIES, CityGrants
from services.gateway.shared.adapters.crypto_keys import BindingKeyFiles
from services.gateway.shared.domain.guard import GuardPolicy

KioskLanguage = Literal["zh-Hant", "zh-Hans", "en", "pt"]
KIOSK_LANGUAGES: tuple[KioskLanguage, ...] = ("zh-Hant", "zh-Hans", "en", "pt")


class GuardSettings(BaseModel):
    """Per caller: sustained calls/s, burst, distinct people read per window (see ``domain.guard``)."""

    rate_per_second: float = Field(default=10.0, gt=0)
    burst: int = Field(default=50, ge=1)
    distinct_subjects: int = Field(default=100, ge=1)
    window_seconds: float = Field(default=600.0, gt=0)

    def policy(self) -> GuardPolicy:
        return GuardPolicy(self.rate_per_second, self.burst, self.distinct_subjects, self.window_seconds)


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_GATEWAY_", extra="forbid", env_nested_delimiter="__")

    # Internal gRPC (health, reflection) and metrics, as every service.
    grpc_port: int = Field(default=50054, ge=0, le=65535)
    metrics_port: int = Field(default=9104, ge=0, le=65535)

    # The kiosk HTTP API (FastAPI under uvicorn, in the same event loop).
    kiosk_host: str = "127.0.0.1"
    kiosk_port: int = Field(default=8443, ge=0, le=65535)  # mTLS; kiosks' browsers use their agent (8080)
    kiosk_session_ttl_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)  # idle time before a session ends
    kiosk_languages: list[KioskLanguage] = Field(default_factory=lambda: list(KIOSK_LANGUAGES))
    kiosk_default_language: KioskLanguage = "zh-Hant"
    kiosk_guard: GuardSettings = Field(default_factory=lambda: GuardSettings(rate_per_second=5.0, burst=30))
    kiosk_max_material_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
    # Kiosk door (docs/security/kiosk.md): mTLS with device certificates from the kiosk CA under pki_dir.
    kiosk_max_body_bytes: int = Field(default=14 * 1024 * 1024, ge=4096, le=32 * 1024 * 1024)  # else 413
    kiosk_session_max_lifetime_seconds: float = Field(default=4 * 3600.0, gt=0, le=24 * 3600)  # however busy
    kiosk_max_quotes_per_session: int = Field(default=20, ge=1, le=1000)

    # Partner cities: gRPC over mutual TLS.
    partner_host: str = "127.0.0.1"
    partner_port: int = Field(default=50443, ge=0, le=65535)
    pki_dir: Path = DEFAULT_PKI_DIR
    pki_auto_init: bool = True  # development: create the partner CA, its CRL and server certificate when missing
    # The partner CA's CRL, checked on every partner call (default <pki_dir>/crl.pem, made by `baylink pki`).
    partner_crl: Path | None = None
    partner_guard: GuardSettings = Field(default_factory=GuardSettings)
    # Material content in one GetApplication answer, at most (under the 16 MiB gRPC message limit).
    partner_max_content_bytes: int = Field(default=12 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
    city_scopes: dict[str, list[str]] = Field(default_factory=dict)  # per city; others get default_city_scopes
    default_city_scopes: list[str] | None = None  # None: every scope

    # The services behind the gateway.
    identity_target: str = "127.0.0.1:50051"
    registry_target: str = "127.0.0.1:50052"
    payments_target: str = "127.0.0.1:50053"
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Payments: who pays from each kiosk currency, who collects each authority's fees.
    payer_participants: dict[str, str] = Field(default_factory=lambda: {"HKD": "HKBANK", "MOP": "MOBANK"})
    fee_collectors: dict[str, str] = Field(default_factory=dict)  # authority code → participant
    default_fee_collector: str = "REGISTRY"

    # Audit log.
    audit_key_path: Path = DEFAULT_AUDIT_KEY
    # The auditor's pinned public keys (`baylink audit trust-key`): outside the signing key's directory,
    # so the writer cannot swap them (in production a read-only mount or another owner).
    audit_trusted_keys_dir: Path = DEFAULT_TRUSTED_AUDIT_KEYS
    checkpoint_every_records: int = Field(default=1000, ge=1)
    checkpoint_every_seconds: float = Field(default=60.0, gt=0)
    events_topic: str = ""  # empty: the events' own topic (baylink.gateway.v1); tests name their own

    # Identity binding: key files (all three, or none for development keys under binding_key_dir).
    binding_key_dir: Path = LOCAL_DIR / "gateway" / "keys"
    binding_number_key: Path | None = None
    binding_pseudonym_key: Path | None = None
    binding_lookup_key: Path | None = None
    binding_previous_number_keys: list[Path] = Field(default_factory=list)
    binding_allow_name_only: bool = False
    binding_allow_mainland_certificates: bool = False

    # The operator console: its own HTTP listener (JSON API, server-sent events, static frontend).
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8090, ge=0, le=65535)
    console_users_file: Path | None = None  # TOML [[user]] name, role, password_hash; none: nobody can log in
    console_topics: list[str] = Field(default_factory=list)  # empty: the declared topics plus the DLQ topic
    console_session_ttl_seconds: float = Field(default=8 * 3600.0, gt=0, le=7 * 24 * 3600)
    console_insecure_cookies: bool = False  # only for local plain HTTP (make up): the session cookie loses Secure
    console_login_free_failures: int = Field(default=5, ge=1, le=100)  # per user name, before waiting starts
    console_login_address_free_failures: int = Field(default=20, ge=1, le=1000)  # per address (IPv6: per /64)
    console_login_max_delay_seconds: float = Field(default=900.0, ge=1, le=24 * 3600)  # the back-off's ceiling
    console_stream_buffer: int = Field(default=1000, ge=10, le=100_000)  # per browser; beyond it records drop
    console_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    console_flow_lookback_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    console_dlq_growth_alert: int = Field(default=5, ge=1)  # dead letters within the window that raise an alert
    console_dlq_growth_window_seconds: float = Field(default=300.0, gt=0)
    # On start, each replica rebuilds its alerts from this much of the topics (0: only alerts from its start on).
    console_alert_lookback_minutes: float = Field(default=60.0, ge=0, le=7 * 24 * 60)
    # Partner cities' StreamEvents read the registry's events from here.
    registry_events_topic: str = "baylink.registry.v1"

    @field_validator("city_scopes")
    @classmethod
    def _known_cities(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(PARTNER_CITIES))
        if unknown:
            raise ValueError(f"not partner cities: {', '.join(unknown)}")
        return value

    @field_validator("payer_participants")
    @classmethod
    def _kiosk_currencies(cls, value: dict[str, str]) -> dict[str, str]:
        if not set(value) <= {"HKD", "MOP"}:
            raise ValueError("kiosks pay in HKD or MOP")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GatewaySettings:
        if self.kiosk_max_body_bytes < self.kiosk_max_material_bytes * 4 // 3 + 64 * 1024:
            raise ValueError("kiosk_max_body_bytes must hold a largest material in base64 (4/3 of it) and 64 KiB")
        if self.kiosk_default_language not in self.kiosk_languages:
            raise ValueError("kiosk_default_language must be one of kiosk_languages")
        given = [self.binding_number_key, self.binding_pseudonym_key, self.binding_lookup_key]
        if any(given) and not all(given):
            raise ValueError("give all three binding key files (number, pseudonym, lookup) or none")
        self.grants()  # unknown scopes fail here, at start-up
        check_trust_dir(self.audit_trusted_keys_dir, self.audit_key_path)
        return self

    def grants(self) -> CityGrants:
        return CityGrants.from_config(self.city_scopes, self.default_city_scopes)

    def partner_crl_path(self) -> Path:
        return self.partner_crl or self.pki_dir / "crl.pem"

    def checkpoint_policy(self) -> CheckpointPolicy:
        return CheckpointPolicy(self.checkpoint_every_records, self.checkpoint_every_seconds)

    def binding_policy(self) -> BindingPolicy:
        return BindingPolicy(self.binding_allow_name_only, self.binding_allow_mainland_certificates)

    def binding_key_files(self) -> BindingKeyFiles | None:
        """The configured key files, or None: use (and create) development keys under ``binding_key_dir``."""
        if self.binding_number_key is None or self.binding_pseudonym_key is None or self.binding_lookup_key is None:
            return None
        return BindingKeyFiles(
            self.binding_number_key,
            self.binding_pseudonym_key,
            self.binding_lookup_key,
            tuple(self.binding_previous_number_keys),
        )

    def fee_collector(self, authority_code: str) -> str:
        return self.fee_collectors.get(authority_code, self.default_fee_collector)
