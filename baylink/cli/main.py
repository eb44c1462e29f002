"""``baylink``: one command, a sub-command per area.

The operators' tools over the event streams (topics, events, flows, dlq) and identifier checks
live here in the shared package; each service's own commands live with the service
(``services/<service>/entrypoints/cli.py``) and are mounted below, the only place in ``baylink/``
that imports a service.
"""

from __future__ import annotations

import typer

from baylink.cli import dlq, events, flows, ids, topics
from services.gateway.audit.entrypoints import cli as audit_cli
from services.gateway.console.entrypoints import cli as console_cli
from services.gateway.partner.entrypoints import cli as pki_cli
from services.identity.entrypoints import cli as identity_cli
from services.identity.entrypoints import cli_trustlist as trustlist_cli
from services.payments.entrypoints import cli as payments_cli
from services.registry.entrypoints import cli as registry_cli
from services.registry.entrypoints import cli_evidence as registry_evidence_cli

app = typer.Typer(name="baylink", help="Baylink: GBA cross-border government services.", no_args_is_help=True)
app.add_typer(topics.app, name="topics")
app.add_typer(ids.app, name="ids")
app.add_typer(identity_cli.app, name="identity")
app.add_typer(trustlist_cli.app, name="trustlist")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(pki_cli.app, name="pki")
app.add_typer(registry_cli.app, name="catalog")
app.add_typer(registry_evidence_cli.app, name="registry")
app.add_typer(payments_cli.app, name="payments")
app.add_typer(events.app, name="events")
app.add_typer(flows.app, name="flows")
app.add_typer(dlq.app, name="dlq")
app.add_typer(console_cli.app, name="console")
