"""``baylink pki``: the partner PKI for local use (a CA and its CRL, the gateway's server certificate,
one client certificate per partner city), and the kiosk CA with one device certificate per kiosk.
Production certificates come from the real partner CA.

The city is carried in the client certificate as the subjectAltName URI
``urn:baylink:city:<division code>``. ``revoke-city`` lists a certificate in the CA's CRL, which
the gateway checks on every partner call; ``issue-city`` revokes the certificate it replaces.

Exit codes: 0 done, 2 usage error (unknown city, no CA yet, not a certificate of this CA).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from baylink.errors import BaylinkError
from baylink.runtime.pki.internal_ca import DEFAULT_INTERNAL_PKI_DIR, SERVICE_IDENTITIES, init_internal_ca
from services.gateway.kiosk.adapters.device_pki import init_kiosk_pki, issue_kiosk, revoke_kiosk
from services.gateway.partner.adapters.pki import DEFAULT_PKI_DIR, PkiPaths, init_pki, issue_city, revoke_city
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
    internal_dir: Annotated[
        Path, typer.Option("--internal-dir", help="Where the internal CA and service certificates live.")
    ] = DEFAULT_INTERNAL_PKI_DIR,
) -> None:
    """Make the partner CA and the gateway's server certificate, and the internal CA with one
    certificate per service and one for the operators' CLIs (existing ones are kept)."""
    paths = init_pki(directory, hostnames=tuple(hostname or ["localhost"]), ips=tuple(ip or ["127.0.0.1"]))
    typer.echo(f"partner CA:         {paths.ca_cert}")
    typer.echo(f"gateway server:     {paths.server_cert} (key {paths.server_key})")
    typer.echo(f"revocation list:    {paths.crl}")
    internal = init_internal_ca(internal_dir)
    typer.echo(f"internal CA:        {internal / 'ca.crt'} ({', '.join(SERVICE_IDENTITIES)})")
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


class Reason(StrEnum):
    unspecified = "unspecified"
    key_compromise = "key-compromise"
    superseded = "superseded"
    cessation_of_operation = "cessation-of-operation"


_REASONS = {
    Reason.unspecified: x509.ReasonFlags.unspecified,
    Reason.key_compromise: x509.ReasonFlags.key_compromise,
    Reason.superseded: x509.ReasonFlags.superseded,
    Reason.cessation_of_operation: x509.ReasonFlags.cessation_of_operation,
}


@app.command("revoke-city")
def revoke_city_command(
    certificate: Annotated[Path, typer.Argument(help="The city certificate to revoke (PEM).")],
    directory: DirOption = DEFAULT_PKI_DIR,
    reason: Annotated[Reason, typer.Option(help="Why (RFC 5280 reason code).")] = Reason.unspecified,
) -> None:
    """Revoke a partner city's certificate: list it in the CA's CRL, which the gateway checks on every call."""
    try:
        serial = revoke_city(directory, certificate.read_bytes(), _REASONS[reason])
    except OSError as exc:
        typer.echo(f"error: cannot read {certificate}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except BaylinkError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"revoked serial {serial:x} ({reason.value}); CRL {PkiPaths(directory).crl}")


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
