"""``baylink``: one command, a sub-command per area."""

from __future__ import annotations

import typer

from baylink.cli import catalog, dlq, events, flows, identity, ids, payments, topics, trustlist
from services.gateway.audit.entrypoints import cli as audit
from services.gateway.console.entrypoints import cli as console
from services.gateway.partner.entrypoints import cli as pki

app = typer.Typer(name="baylink", help="Baylink: GBA cross-border government services.", no_args_is_help=True)
app.add_typer(topics.app, name="topics")
app.add_typer(ids.app, name="ids")
app.add_typer(identity.app, name="identity")
app.add_typer(trustlist.app, name="trustlist")
app.add_typer(audit.app, name="audit")
app.add_typer(pki.app, name="pki")
app.add_typer(catalog.app, name="catalog")
app.add_typer(payments.app, name="payments")
app.add_typer(events.app, name="events")
app.add_typer(flows.app, name="flows")
app.add_typer(dlq.app, name="dlq")
app.add_typer(console.app, name="console")
