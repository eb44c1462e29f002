"""``baylink events tail``: follow Baylink's topics from the terminal, straight from Kafka.

Reads outside any consumer group (``baylink.ops.TopicReader``): looking never moves a service's
position. Without ``--since`` it starts at the live end; with it, it replays from then and keeps
following. Ctrl-C stops it (exit 0). ``--json`` prints one record per line in the console's shape.

Exit codes: 0 ok (stopped, or ``--count`` reached), 2 usage (bad time, bad city, Kafka unreachable).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, NoReturn

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape

from baylink.ops import OpsRecord, RecordFilter, TopicReader
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import declared

app = typer.Typer(name="events", help="Baylink's events on Kafka, as operators see them.", no_args_is_help=True)
console = Console(width=shutil.get_terminal_size((160, 24)).columns, highlight=False)
RELATIVE = re.compile(r"(\d+)\s*([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
CITY = re.compile(r"\d{6}")

TypeOption = Annotated[
    list[str] | None, typer.Option("--type", "-t", help="Event type, or a dotted prefix (baylink.registry); repeat.")
]
TopicOption = Annotated[
    list[str] | None,
    typer.Option("--topic", help="Topic to read; repeat. Default: the declared topics and the DLQ topic."),
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="ISO-8601 time (UTC unless it says) or an age: 30s, 15m, 2h, 7d.")
]


@app.callback()
def _group() -> None:
    """Follow the topics (tail)."""


def usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2024-05-01T08:00:00Z``, ``2024-05-01 08:00+08:00`` or an age (``15m``, ``2h``, ``7d``) → aware UTC."""
    value = text.strip()
    relative = RELATIVE.fullmatch(value)
    if relative:
        age = timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
        return (now or datetime.now(UTC)) - age
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r} is neither an ISO-8601 time nor an age like 15m, 2h or 7d") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def default_topics(kafka: KafkaSettings) -> list[str]:
    """The topics of the declaration (deploy/kafka/topics.toml) and the dead-letter topic."""
    return list(dict.fromkeys([spec.name for spec in declared(kafka)] + [kafka.dlq_topic]))


def build_filter(types: Sequence[str] | None, service: str, city: str, correlation_id: str) -> RecordFilter:
    if city and not CITY.fullmatch(city.strip()):
        raise ValueError(f"--city {city!r} is not a 6-digit division code (e.g. 440605)")
    return RecordFilter.of(types or (), service, city, correlation_id)


def line(record: OpsRecord) -> str:
    """One record as one line of rich markup: time, service, type, city, subject, correlation id, position."""
    when = record.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    kind = record.type or "[red](not a CloudEvent)[/]"
    city = f" city={record.city}" if record.city else ""
    cid = f" cid={escape(record.correlation_id)}" if record.correlation_id else ""
    where = f"{record.topic}/{record.partition}@{record.offset}"
    return (f"[dim]{when}[/] [bold cyan]{escape(record.service or '?'):<9}[/] {escape(kind)}{city} "
            f"subject={escape(record.subject)}{cid} [dim]{escape(where)}[/]")  # fmt: skip


def as_json(record: OpsRecord) -> str:
    return json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True)


@app.command()
def tail(
    types: TypeOption = None,
    service: Annotated[str, typer.Option("--service", "-s", help="identity, registry, payments or gateway.")] = "",
    city: Annotated[str, typer.Option("--city", "-c", help="6-digit division code, e.g. 440605 (Nanhai).")] = "",
    correlation_id: Annotated[str, typer.Option("--correlation-id", help="Only this flow's events.")] = "",
    since: SinceOption = None,
    topic: TopicOption = None,
    as_json_lines: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Stop after this many records.")] = 0,
) -> None:
    """Follow the topics until Ctrl-C: new events, or from --since on."""
    kafka = KafkaSettings()
    try:
        where = build_filter(types, service, city, correlation_id)
        start = parse_since(since) if since else None
    except ValueError as exc:
        usage_error(str(exc))
    topics = topic or default_topics(kafka)
    if not as_json_lines:
        origin = f"from {start.isoformat()}" if start else "new events"
        console.print(f"[dim]following {', '.join(topics)} ({origin}); Ctrl-C stops[/]")
    try:
        reader = TopicReader(kafka, topics, client_id="cli-tail")
        shown = asyncio.run(_follow(reader, where, start, as_json_lines, count))
    except KeyboardInterrupt:
        return
    except KafkaError as exc:
        usage_error(f"Kafka at {kafka.bootstrap_servers} did not answer: {exc!r}")
    if not as_json_lines:
        console.print(f"[dim]{shown} records[/]")


async def _follow(
    reader: TopicReader, where: RecordFilter, since: datetime | None, json_lines: bool, count: int
) -> int:
    shown = 0
    async for record in reader.tail(since=since, where=where):
        if json_lines:
            print(as_json(record), flush=True)  # plain stdout: machine-readable, no rich wrapping
        else:
            console.print(line(record))
        shown += 1
        if count and shown >= count:
            break
    return shown
