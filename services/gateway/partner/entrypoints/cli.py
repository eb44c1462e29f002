"""``baylink pki``: the partner PKI for local use (a CA, the gateway's server certificate, one
client certificate per partner city), and the kiosk CA with one device certificate per kiosk.
Production certificates come from the real partner CA.

The city is carried in the client certificate as the subjectAltName URI
``urn:baylink:city:<division code>``.

Exit codes: 0 done, 2 usage error (unknown city, no CA yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baylink.errors import BaylinkError
from services.gateway.kiosk.adapters.device_pki import init_kiosk_pki, issue_kiosk, revoke_kiosk
from services.gateway.partner.adapters.pki import DEFAULT_PKI_DIR, init_pki, issue_city
from services.gateway.partner.domain.cities import PARTNER_CITIES

app = typer.Typer(name="pki", help="The Baylink partner PKI for local use.", no_args_is_help=True)
DirOption = Annotated[Path, typer.Option("--dir", help="Where the CA and certificates live.")]


@app.callback()
def _group() -> None:
    """Partner CA, gateway server certificate, partner-city client certificates."""


@app.command("init")
def init(
    directory: DirOption = DEFAULT_PKI_DIR,
    hostname: Annotated[list[str] | None, typer.Option(help="Server DNS name; repeat. Default localhost.")] = None,
    ip: Annotated[list[str] | None, typer.Option(help="Server IP address; repeat. Default 127.0.0.1.")] = None,
) -> None:
    """Make the partner CA and the gateway's server certificate (existing ones are kept)."""
    paths = init_pki(directory, hostnames=tuple(hostname or ["localhost"]), ips=tuple(ip or ["127.0.0.1"]))
    typer.echo(f"partner CA:         {paths.ca_cert}")
    typer.echo(f"gateway server:     {paths.server_cert} (key {paths.server_key})")
    kiosks = init_kiosk_pki(directory, hostnames=tuple(hostname or ["localhost"]), ips=tuple(ip or ["127.0.0.1"]))
    typer.echo(f"kiosk CA:           {kiosks.ca.ca_cert}")
    typer.echo(f"kiosk door:         {kiosks.ca.server_cert} (key {kiosks.ca.server_key})")


@app.command("issue-city")
def issue_city_command(
    city: Annotated[str, typer.Argument(help="Division code, e.g. 440605 (Nanhai).")],
    directory: DirOption = DEFAULT_PKI_DIR,
) -> None:
    """Issue (or re-issue) the client certificate of one partner city."""
    try:
        paths = issue_city(directory, city)
    except BaylinkError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{city} {PARTNER_CITIES[city]}: {paths.city_cert(city)} (key {paths.city_key(city)})")


@app.command("issue-kiosk")
def issue_kiosk_command(
    kiosk_id: Annotated[str, typer.Argument(help="The kiosk's id, e.g. HK-TST-01 (its certificate names it).")],
    directory: DirOption = DEFAULT_PKI_DIR,
) -> None:
    """Issue (or re-issue) a kiosk's device certificate (the kiosk CA is made first if missing)."""
    try:
        paths = issue_kiosk(directory, kiosk_id)
    except BaylinkError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"kiosk {kiosk_id}: {paths.device_cert(kiosk_id)} (key {paths.device_key(kiosk_id)})")


@app.command("revoke-kiosk")
def revoke_kiosk_command(
    kiosk_id: Annotated[str, typer.Argument(help="The kiosk whose device certificate to revoke.")],
    directory: DirOption = DEFAULT_PKI_DIR,
) -> None:
    """Revoke a kiosk's device certificate: the kiosk door refuses it from the next request on."""
    try:
        revoked = revoke_kiosk(directory, kiosk_id)
    except BaylinkError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"kiosk {kiosk_id}: {'revoked' if revoked else 'had no certificate'}")
