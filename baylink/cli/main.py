"""``baylink``: one command, a sub-command per area."""

from __future__ import annotations

import typer

from baylink.cli import ids, topics

app = typer.Typer(name="baylink", help="Baylink: GBA cross-border government services.", no_args_is_help=True)
app.add_typer(topics.app, name="topics")
app.add_typer(ids.app, name="ids")
