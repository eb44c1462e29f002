from __future__ import annotations

from pathlib import Path

import pytest

from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, load_declaration


def test_the_repository_declares_one_topic_per_service_and_the_dead_letter_topic() -> None:
    names = {s.name for s in load_declaration(KafkaSettings().topics_file)}
    assert names == {
        "baylink.identity.v1",
        "baylink.registry.v1",
        "baylink.payments.v1",
        "baylink.gateway.v1",
        "baylink.dlq.v1",
    }


def test_min_insync_replicas_follows_the_replication_factor() -> None:
    spec = TopicSpec("t", 3, 1000)
    assert spec.configs(1)["min.insync.replicas"] == "1"
    assert spec.configs(3)["min.insync.replicas"] == "2"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('[[topic]]\nname="a"\npartitions=0\nretention_ms=1\n', "invalid values"),
        ('[[topic]]\nname="a"\npartitions=1\nretention_ms=1\ncleanup_policy="shred"\n', "invalid values"),
        ('[[topic]]\nname="a"\npartitions=1\nretention_ms=1\nreplicas=3\n', "unknown keys"),
        (
            '[[topic]]\nname="a"\npartitions=1\nretention_ms=1\n[[topic]]\nname="a"\npartitions=1\nretention_ms=1\n',
            "declared twice",
        ),
    ],
)
def test_a_bad_declaration_is_refused_naming_the_problem(tmp_path: Path, body: str, error: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(body)
    with pytest.raises(ValueError, match=error):
        load_declaration(path)
