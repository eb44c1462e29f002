"""``baylink dlq list|replay|discard``: the dead-letter topic, through the operator console's API.

Actions go through the console (not straight to Kafka) so that every replay and discard is checked
against the operator's role and recorded in the gateway's one audit log. The password comes from
``BAYLINK_CONSOLE_PASSWORD`` or a prompt; ``--console`` and ``--user`` also read
``BAYLINK_CONSOLE_URL`` and ``BAYLINK_CONSOLE_USER``.

Exit codes: 0 ok, 1 refused or not found (wrong password, a viewer's role, no such item, already
resolved), 2 usage (bad arguments, the console unreachable).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

app = typer.Typer(name="dlq", help="Dead letters: list, replay, discard (audited, via the console).",
                  no_args_is_help=True)  # fmt: skip
console = Console(width=shutil.get_terminal_size((160, 24)).columns, highlight=False)
errors = Console(stderr=True, highlight=False)
DEFAULT_CONSOLE = "http://127.0.0.1:8090"
USAGE_STATUSES = {400, 422}

ConsoleUrl = Annotated[
    str, typer.Option("--console", envvar="BAYLINK_CONSOLE_URL", help="The operator console's base URL.")
]
User = Annotated[str, typer.Option("--user", "-u", envvar="BAYLINK_CONSOLE_USER", help="Console user name.")]
Password = Annotated[
    str,
    typer.Option("--password", envvar="BAYLINK_CONSOLE_PASSWORD", prompt=True, hide_input=True, show_default=False,
                 help="Console password (better: BAYLINK_CONSOLE_PASSWORD, or answer the prompt)."),
]  # fmt: skip


@app.callback()
def _group() -> None:
    """The dead-letter topic's records waiting for an operator."""


class Refused(Exception):
    """The console answered no (401, 403, 404, 409, …): exit 1, or 2 for a request it could not take."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):  # the console's {code, message, fields}
        fields = "; ".join(f"{f.get('field')}: {f.get('description')}" for f in body.get("fields") or [])
        return f"{body['message']} ({fields})" if fields else str(body["message"])
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI's field errors
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail)
    return str(detail)


class ConsoleClient:
    """A signed-in session with the console API: its cookie, and the CSRF token every POST carries."""

    def __init__(self, http: httpx.Client):
        self.http = http
        self.csrf = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if method != "GET" else {}
        response = self.http.request(method, f"/console/api{path}", json=body, headers=headers)
        if response.is_error:
            raise Refused(response.status_code, f"{response.status_code}: {_message(response)}")
        return response.json() if response.content else None

    def login(self, user: str, password: str) -> dict[str, Any]:
        me: dict[str, Any] = self.call("POST", "/login", {"username": user, "password": password})
        self.csrf = str(me.get("csrf_token", ""))
        return me

    def items(self, status: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/dlq?status={status}"))

    def replay(self, dlq_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/dlq/{quote(dlq_id, safe='')}/replay"))

    def discard(self, dlq_id: str, reason: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/dlq/{quote(dlq_id, safe='')}/discard", {"reason": reason}))


def _fail(code: int, message: str) -> NoReturn:
    errors.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def signed_in(url: str, user: str, password: str) -> Iterator[ConsoleClient]:
    """A client signed in as ``user``; signs out at the end. Maps failures to the exit codes."""
    if not user:
        _fail(2, "name the console user (--user or BAYLINK_CONSOLE_USER)")
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=60) as http:
            client = ConsoleClient(http)
            client.login(user, password)
            try:
                yield client
            finally:
                with suppress(Refused, httpx.HTTPError):  # the session expires by itself anyway
                    client.call("POST", "/logout")
    except Refused as exc:
        _fail(2 if exc.status in USAGE_STATUSES else 1, str(exc))
    except httpx.HTTPError as exc:
        _fail(2, f"the console at {url} cannot be reached: {exc!r}")


def items_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(items)} dead letters")
    for column in ("dlq id", "dead at", "event type", "from", "group", "error", "correlation id", "status"):
        table.add_column(column, no_wrap=column in {"dlq id", "dead at", "status"})
    for item in items:
        status = item["status"] + (f" by {item['resolved_by']}" if item.get("resolved_by") else "")
        origin = f"{item['original_topic']}/{item['original_partition']}@{item['original_offset']}"
        cells = (item["dlq_id"], item["dead_at"], item["event_type"], origin, item["group"], item["error"],
                 item["correlation_id"], status)  # fmt: skip
        table.add_row(*(escape(str(v or "")) for v in cells))
    return table


def describe(item: dict[str, Any]) -> str:
    reason = f" ({item['reason']})" if item.get("reason") else ""
    return f"{item['dlq_id']}: {item['status']} by {item.get('resolved_by') or '?'}{reason}"


@app.command("list")
def list_(
    user: User = "",
    password: Password = "",
    url: ConsoleUrl = DEFAULT_CONSOLE,
    status: Annotated[str, typer.Option("--status", help="open, or all.")] = "open",
    as_json: Annotated[bool, typer.Option("--json", help="The items as JSON.")] = False,
) -> None:
    """The dead letters (open ones by default)."""
    if status not in {"open", "all"}:
        _fail(2, f"--status is open or all, not {status!r}")
    with signed_in(url, user, password) as client:
        items = client.items(status)
    if as_json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        console.print(items_table(items))


@app.command()
def replay(
    dlq_id: Annotated[str | None, typer.Argument(help="The item, <dlq topic>:<partition>:<offset>.")] = None,
    all_open: Annotated[bool, typer.Option("--all-open", help="Replay every open item.")] = False,
    user: User = "",
    password: Password = "",
    url: ConsoleUrl = DEFAULT_CONSOLE,
) -> None:
    """Produce a dead letter again to its original topic (operators only; audited)."""
    if bool(dlq_id) == all_open:
        _fail(2, "name one DLQ_ID or give --all-open")
    with signed_in(url, user, password) as client:
        if dlq_id:
            console.print(escape(describe(client.replay(dlq_id))))
            return
        failed = _replay_all(client)
    if failed:
        raise typer.Exit(1)


def _replay_all(client: ConsoleClient) -> int:
    """Replays each open item with a progress bar; one already resolved by someone else is reported, not fatal."""
    items = client.items("open")
    done, failed = 0, 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("replaying", total=len(items))
        for item in items:
            try:
                client.replay(item["dlq_id"])
                done += 1
            except Refused as exc:
                if exc.status in {401, 403}:
                    raise
                failed += 1
                errors.print(f"[yellow]{escape(item['dlq_id'])}[/]: {escape(str(exc))}")
            progress.advance(task)
    console.print(f"replayed {done} of {len(items)} open dead letters" + (f", {failed} refused" if failed else ""))
    return failed


@app.command()
def discard(
    dlq_id: Annotated[str, typer.Argument(help="The item, <dlq topic>:<partition>:<offset>.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded in the audit log).")],
    user: User = "",
    password: Password = "",
    url: ConsoleUrl = DEFAULT_CONSOLE,
) -> None:
    """Mark a dead letter as discarded, with a reason (operators only; audited)."""
    if not reason.strip():
        _fail(2, "--reason is empty: say why the record is discarded")
    with signed_in(url, user, password) as client:
        console.print(escape(describe(client.discard(dlq_id, reason.strip()))))
