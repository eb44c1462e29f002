"""``baylink``: one command, a sub-command per area."""

from __future__ import annotations

import typer

from baylink.cli import audit, console, dlq, events, flows, ids, pki, topics
from services.identity.entrypoints import cli as identity_cli
from services.identity.entrypoints import cli_trustlist as trustlist_cli
from services.payments.entrypoints import cli as payments_cli
from services.registry.entrypoints import cli as registry_cli

app = typer.Typer(name="baylink", help="Baylink: GBA cross-border government services.", no_args_is_help=True)
app.add_typer(topics.app, name="topics")
app.add_typer(ids.app, name="ids")
app.add_typer(identity_cli.app, name="identity")
app.add_typer(trustlist_cli.app, name="trustlist")
app.add_typer(audit.app, name="audit")
app.add_typer(pki.app, name="pki")
app.add_typer(registry_cli.app, name="catalog")
app.add_typer(payments_cli.app, name="payments")
app.add_typer(events.app, name="events")
app.add_typer(flows.app, name="flows")
app.add_typer(dlq.app, name="dlq")
app.add_typer(console.app, name="console")
