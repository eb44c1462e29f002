"""A time-stamping authority for tests: Baylink's TSA with the test PKI's hk-tsa key and certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import x509

from devtools.testpki.loader import TestPKI
from services.identity.adapters.keys import SigningKey
from services.identity.tsa.authority import TimeStampAuthority
from services.identity.tsa.serials import SerialStore
from services.identity.tsa.server import TimeStampServer


def tsa_credentials(pki: TestPKI, name: str = "hk-tsa") -> tuple[SigningKey, x509.Certificate, list[x509.Certificate]]:
    """The test PKI's TSA `name` (hk-tsa: listed as the HK trust list's TSA/QTST service)."""
    chain = [x509.Certificate.load(der) for der in pki.intermediates(name)]
    return pki.key(name), pki.certificate(name), chain


def make_authority(
    pki: TestPKI, directory: Path, fixed_time: datetime | None = None
) -> tuple[TimeStampAuthority, SerialStore]:
    """The authority and its serial store (the caller closes it); ``fixed_time`` fixes genTime."""
    key, certificate, chain = tsa_credentials(pki)
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
