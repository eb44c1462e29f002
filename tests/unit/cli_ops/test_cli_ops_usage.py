"""The operator CLI's parsing and rendering, and its usage errors (exit 2), without Kafka or a console."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from baylink.cli.dlq import _message
from baylink.cli.events import as_json, build_filter, default_topics, line, parse_since
from baylink.cli.main import app
from baylink.ops import OpsRecord
from baylink.runtime.settings import KafkaSettings

runner = CliRunner()
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def record(**changes: object) -> OpsRecord:
    values: dict[str, object] = {
        "topic": "baylink.registry.v1", "partition": 2, "offset": 41, "timestamp": NOW, "id": "ev-1",
        "type": "baylink.registry.application.submitted.v1", "source": "/baylink/registry", "service": "registry",
        "city": "440605", "correlation_id": "flow-1", "subject": "app-[bold]1", "data": {"application_id": "app-1"},
    }  # fmt: skip
    values.update(changes)
    return OpsRecord(**values)  # type: ignore[arg-type]


def test_since_accepts_ages_and_iso_times_and_returns_utc() -> None:
    assert parse_since("15m", NOW) == NOW - timedelta(minutes=15)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2024-05-01T16:00:00+08:00") == NOW
    assert parse_since("2024-05-01T08:00:00Z") == NOW
    assert parse_since("2024-05-01 08:00") == NOW  # no zone given: UTC


@pytest.mark.parametrize("text", ["yesterday", "15 minutes", "-5m", "2024-13-01"])
def test_since_that_is_neither_time_nor_age_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="--since"):
        parse_since(text, NOW)


def test_filter_matches_type_prefix_service_city_and_flow() -> None:
    where = build_filter(["baylink.registry"], "registry", "440605", "flow-1")
    assert where.matches(record())
    assert not where.matches(record(city="440300"))
    assert not where.matches(record(correlation_id="flow-2"))
    assert not build_filter(["baylink.payments"], "", "", "").matches(record())


def test_city_that_is_not_a_division_code_is_refused() -> None:
    with pytest.raises(ValueError, match="6-digit"):
        build_filter(None, "", "Nanhai", "")


def test_default_topics_are_the_declared_ones_and_the_dlq() -> None:
    topics = default_topics(KafkaSettings(dlq_topic="dlq.of.test"))
    assert {"baylink.registry.v1", "baylink.payments.v1", "baylink.gateway.v1", "dlq.of.test"} <= set(topics)
    assert len(topics) == len(set(topics))


def test_line_names_the_event_and_escapes_markup_in_data() -> None:
    text = line(record())
    assert "2024-05-01 08:00:00.000" in text and "baylink.registry.application.submitted.v1" in text
    assert "city=440605" in text and "cid=flow-1" in text and "baylink.registry.v1/2@41" in text
    assert "app-\\[bold]1" in text  # a subject cannot restyle the terminal
    assert "(not a CloudEvent)" in line(record(type="", service=""))


def test_json_line_has_the_console_record_shape() -> None:
    shown = json.loads(as_json(record()))
    assert shown["timestamp"] == "2024-05-01T08:00:00.000Z"
    assert set(shown) == {"topic", "partition", "offset", "timestamp", "id", "type", "source", "service", "city",
                          "correlation_id", "subject", "data"}  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["events", "tail", "--since", "last week"],
        ["events", "tail", "--city", "44060"],
        ["flows", "show", "flow-1", "--since", "soon"],
        ["flows", "show", "  "],
        ["dlq", "replay", "--user", "op"],
        ["dlq", "replay", "baylink.dlq.v1:0:1", "--all-open", "--user", "op"],
        ["dlq", "discard", "baylink.dlq.v1:0:1", "--reason", "  ", "--user", "op"],
        ["dlq", "list", "--status", "closed", "--user", "op"],
        ["dlq", "list"],
    ],
)
def test_usage_errors_exit_2_before_touching_kafka_or_the_console(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"BAYLINK_CONSOLE_PASSWORD": "pw", "BAYLINK_CONSOLE_USER": ""})
    assert result.exit_code == 2, result.output


def test_unreachable_console_is_a_clear_error_with_exit_2() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        result = runner.invoke(app, ["dlq", "list", "--user", "op", "--console", f"http://127.0.0.1:{port}"],
                               env={"BAYLINK_CONSOLE_PASSWORD": "pw"})  # fmt: skip
    assert result.exit_code == 2
    assert "cannot be reached" in result.output


def test_console_error_bodies_become_one_readable_message() -> None:
    fields = httpx.Response(422, json={"detail": [{"loc": ["body", "reason"], "msg": "too long"}]})
    assert _message(fields) == "body.reason: too long"
    assert _message(httpx.Response(409, json={"detail": "already replayed"})) == "already replayed"
    console = {"code": "INVALID_INPUT", "message": "the request is not valid",
               "fields": [{"field": "reason", "description": "too long"}]}  # fmt: skip
    assert _message(httpx.Response(422, json=console)) == "the request is not valid (reason: too long)"
    assert _message(httpx.Response(409, json={"code": "ALREADY_RESOLVED", "message": "replayed by operator:ann"})) == (
        "replayed by operator:ann"
    )
    assert _message(httpx.Response(502, text="bad gateway")) == "bad gateway"
