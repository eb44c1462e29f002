"""``baylink flows show CORRELATION_ID``: one flow's timeline across services, straight from Kafka.

Every topic is scanned from ``--since`` (default: the last 24 hours) for the records carrying the
correlation id; a progress bar counts the topics. The table shows each event with the time since the
flow's first one, so a slow hop stands out.

Exit codes: 0 the flow has events, 1 none found, 2 usage (bad time, Kafka unreachable).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baylink.cli.events import SinceOption, TopicOption, default_topics, parse_since, usage_error
from baylink.ops import OpsRecord, TopicReader
from baylink.ops.reader import time_order
from baylink.runtime.settings import KafkaSettings

app = typer.Typer(name="flows", help="Follow one case across services by its correlation id.", no_args_is_help=True)
console = Console(width=shutil.get_terminal_size((160, 24)).columns, highlight=False)
progress_console = Console(stderr=True)
DEFAULT_SINCE = "24h"


@app.callback()
def _group() -> None:
    """A flow's timeline (show)."""


@app.command()
def show(
    correlation_id: Annotated[str, typer.Argument(help="The flow's correlation id.")],
    since: SinceOption = None,
    topic: TopicOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The flow as JSON, in the console API's shape.")] = False,
) -> None:
    """The flow's events on every topic, in time order."""
    if not correlation_id.strip():
        usage_error("the correlation id is empty")
    kafka = KafkaSettings()
    try:
        start = parse_since(since or DEFAULT_SINCE)
    except ValueError as exc:
        usage_error(str(exc))
    topics = topic or default_topics(kafka)
    try:
        records = asyncio.run(scan(kafka, topics, correlation_id.strip(), start))
    except KafkaError as exc:
        usage_error(f"Kafka at {kafka.bootstrap_servers} did not answer: {exc!r}")
    if as_json:
        body = {"correlation_id": correlation_id, "records": [r.to_json() for r in records]}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    elif records:
        console.print(timeline(correlation_id, records))
    if not records:
        if not as_json:
            where = f"{len(topics)} topics since {start.isoformat()}"
            console.print(f"no events of flow {escape(correlation_id)} on {where}")
        raise typer.Exit(1)


async def scan(kafka: KafkaSettings, topics: Sequence[str], correlation_id: str, since: datetime) -> list[OpsRecord]:
    """The flow's records on each topic in turn (one bar step per topic), merged in time order."""
    found: list[OpsRecord] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=True) as progress:
        task = progress.add_task("scanning topics", total=len(topics))
        for name in topics:
            progress.update(task, description=f"scanning {name}")
            reader = TopicReader(kafka, [name], client_id="cli-flows")
            found.extend(await reader.flow(correlation_id, since))
            progress.advance(task)
    return sorted(found, key=time_order)


def timeline(correlation_id: str, records: Sequence[OpsRecord]) -> Table:
    first = records[0].timestamp
    services = sorted({r.service for r in records if r.service})
    table = Table(title=f"flow {escape(correlation_id)}: {len(records)} events across {', '.join(services) or '?'}")
    for column in ("time (UTC)", "+s", "service", "type", "subject", "city", "topic/partition@offset"):
        table.add_column(column, no_wrap=column != "type")
    for record in records:
        table.add_row(
            record.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            f"{(record.timestamp - first).total_seconds():.3f}",
            escape(record.service or "?"),
            escape(record.type or "(not a CloudEvent)"),
            escape(record.subject),
            record.city,
            escape(f"{record.topic}/{record.partition}@{record.offset}"),
        )
    return table
