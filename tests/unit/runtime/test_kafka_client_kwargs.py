from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from baylink.runtime.kafka import client_kwargs, new_consumer
from baylink.runtime.pki.kafka_ca import init_kafka_pki
from baylink.runtime.settings import KafkaSettings
from services.gateway.flows.worker import broker_credentials, broker_urls


@pytest.fixture(autouse=True)
def no_kafka_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE"):
        monkeypatch.delenv(f"BAYLINK_KAFKA_{name}", raising=False)


@pytest.fixture(scope="module")
def cluster_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_kafka_pki(tmp_path_factory.mktemp("kafka-pki"), 1) / "ca.crt"


def test_the_default_is_plaintext_with_nothing_else() -> None:
    assert client_kwargs(KafkaSettings(bootstrap_servers="127.0.0.1:9092")) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_carries_the_scram_user_and_a_context_that_trusts_the_cluster_ca(cluster_ca: Path) -> None:
    settings = KafkaSettings(
        bootstrap_servers="127.0.0.1:19391,127.0.0.1:19392",
        security_protocol="SASL_SSL",
        sasl_username="baylink-payments",
        sasl_password="s3cret",  # type: ignore[arg-type]  # pydantic makes the SecretStr
        ssl_cafile=cluster_ca,
    )
    kwargs = client_kwargs(settings)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("baylink-payments", "s3cret")
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    trusted = [dict(pair[0] for pair in c["subject"]) for c in context.get_ca_certs()]
    assert [t.get("commonName") for t in trusted] == ["Baylink Kafka CA"]
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_username": "u"}, "needs sasl_username and sasl_password"),
        ({"sasl_username": "u", "sasl_password": "p"}, "does not use SASL"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password": "p", "ssl_cafile": "x"},
            "does not use TLS",
        ),
        ({"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.crt"}, "is not a file"),
        ({"security_protocol": "SASL_TLS"}, "security_protocol"),
    ],
)
def test_inconsistent_security_settings_are_refused_naming_the_field(fields: dict[str, str], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        KafkaSettings(**fields)  # type: ignore[arg-type]


def test_the_flow_worker_gets_the_same_credentials_as_faust_settings(cluster_ca: Path) -> None:
    plain = KafkaSettings(bootstrap_servers="127.0.0.1:9092")
    assert broker_credentials(plain) is None
    secured = KafkaSettings(
        bootstrap_servers="127.0.0.1:19391, 127.0.0.1:19392",
        security_protocol="SASL_SSL",
        sasl_username="baylink-flows",
        sasl_password="pw",  # type: ignore[arg-type]
        ssl_cafile=cluster_ca,
    )
    credentials = broker_credentials(secured)
    assert credentials is not None
    assert credentials.protocol.value == "SASL_SSL"  # type: ignore[attr-defined]
    assert credentials.mechanism.value == "SCRAM-SHA-512"  # type: ignore[attr-defined]
    assert credentials.username == "baylink-flows"  # type: ignore[attr-defined]
    assert broker_urls(secured) == ["kafka://127.0.0.1:19391", "kafka://127.0.0.1:19392"]


async def test_a_consumer_is_given_the_session_timeout_of_its_settings() -> None:
    consumer = new_consumer(KafkaSettings(bootstrap_servers="127.0.0.1:9092", session_timeout_ms=6_000), "g", ["t"])
    try:  # aiokafka keeps its group options on the consumer until start() hands them to the coordinator
        assert (consumer._session_timeout_ms, consumer._heartbeat_interval_ms) == (6_000, 2_000)
    finally:
        await consumer.stop()


@pytest.mark.parametrize("timeout_ms", [5_999, 300_001])
def test_a_session_timeout_the_broker_would_refuse_is_refused_here(timeout_ms: int) -> None:
    with pytest.raises(ValidationError, match="session_timeout_ms"):
        KafkaSettings(session_timeout_ms=timeout_ms)
