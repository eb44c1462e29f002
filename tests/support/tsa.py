"""A time-stamping authority for tests: Baylink's TSA with the test PKI's TSA certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import x509

from baylink.cms import load_certificates
from devtools.testpki.loader import TestPKI
from devtools.testpki.local_tsa import write_local_tsa
from services.identity.adapters.keys import SigningKey
from services.identity.tsa.authority import TimeStampAuthority
from services.identity.tsa.serials import SerialStore
from services.identity.tsa.server import TimeStampServer


def tsa_credentials(pki: TestPKI, directory: Path) -> tuple[SigningKey, x509.Certificate, list[x509.Certificate]]:
    write_local_tsa(directory, pki)
    certificate = load_certificates((directory / "tsa.pem").read_text("ascii"))[0]
    chain = load_certificates((directory / "chain.pem").read_text("ascii"))
    return SigningKey.load_pem((directory / "tsa.key.pem").read_bytes()), certificate, chain


def make_authority(
    pki: TestPKI, directory: Path, fixed_time: datetime | None = None
) -> tuple[TimeStampAuthority, SerialStore]:
    """The authority and its serial store (the caller closes it); ``fixed_time`` fixes genTime."""
    key, certificate, chain = tsa_credentials(pki, directory)
    serials = SerialStore(directory / "serial")
    clock = (lambda: fixed_time) if fixed_time is not None else (lambda: datetime.now(UTC))
    return TimeStampAuthority(key, certificate, chain, serials.next, clock=clock), serials


@asynccontextmanager
async def running_tsa(pki: TestPKI, directory: Path) -> AsyncIterator[TimeStampServer]:
    """Baylink's TSA over HTTP on a free loopback port (``.url``), stopped on exit."""
    authority, serials = make_authority(pki, directory)
    server = TimeStampServer(authority)
    await server.start(port=0)
    try:
        yield server
    finally:
        await server.stop()
        serials.close()
