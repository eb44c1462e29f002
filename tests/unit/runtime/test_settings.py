from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from baylink.runtime.settings import LOCAL_DIR, ServiceSettings


class DemoSettings(ServiceSettings):
    service_name: ClassVar[str] = "demo"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_DEMO_", extra="forbid")


def test_settings_come_from_the_services_own_prefix_and_kafka_from_the_shared_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BAYLINK_DEMO_GRPC_PORT", "50123")
    monkeypatch.setenv("BAYLINK_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("BAYLINK_KAFKA_REPLICATION_FACTOR", "3")
    settings = DemoSettings()
    assert settings.grpc_port == 50123
    assert settings.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.kafka.replication_factor == 3
    assert settings.source == "/baylink/demo"


def test_database_defaults_to_a_sqlite_file_of_the_service_under_local(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BAYLINK_DEMO_DATABASE_URL", raising=False)
    assert DemoSettings().database_url == f"sqlite+aiosqlite:///{LOCAL_DIR / 'demo' / 'demo.db'}"


@pytest.mark.parametrize(("var", "value"), [("BAYLINK_DEMO_GRPC_PORT", "70000"), ("BAYLINK_DEMO_LOG_LEVEL", "LOUD")])
def test_invalid_settings_fail_at_start_up_naming_the_field(monkeypatch, var, value) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError) as info:
        DemoSettings()
    assert var.removeprefix("BAYLINK_DEMO_").lower() in str(info.value)
