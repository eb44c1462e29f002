"""``baylink ids``: check identifier numbers from the command line.

Exit codes: 0 valid, 1 not valid, 2 usage error (e.g. an unknown ``--kind``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from baylink.ids import IdResult, Kind
from baylink.ids import check as check_id

app = typer.Typer(
    name="ids",
    help="Parse, normalise and validate HK, Macau and mainland identifiers.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Identifier tools (HKID, Macau ID, travel permit, residence permit, mainland ID, USCC, HK BR)."""


def _render(result: IdResult) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("kind", Text(result.kind.value if result.kind is not None else "unknown"))
    table.add_row("normalised", Text(result.normalised if result.normalised is not None else "-"))
    if result.valid:
        table.add_row("result", Text("valid", style="green"))
    else:
        reason = result.reason.value if result.reason is not None else "invalid"
        table.add_row("result", Text(reason, style="red"))
    table.add_row("message", Text(result.message))
    for key, item in result.details.items():
        table.add_row(key, Text(item))
    return table


@app.command("check")
def check_command(
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The identifier, e.g. 'A123456(3)'; quote brackets.")],
    kind: Annotated[
        Kind | None,
        typer.Option("--kind", "-k", case_sensitive=False, help="Check as this kind instead of detecting it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Check VALUE: print its kind, normalised form and 'valid' or the reason it is not."""
    result = check_id(value, kind)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        Console(highlight=False).print(_render(result))
    raise typer.Exit(code=0 if result.valid else 1)
