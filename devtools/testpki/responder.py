"""A real CRL and OCSP responder for the test PKI, for tests and the local demo.

    GET  /crl/<ca>.crl   DER CRL of that CA, freshly signed
    POST /ocsp/<ca>      RFC 6960 DER request → DER response (signed by the CA or its delegated responder)

Tests steer failures: `behaviour` (hang, HTTP 503, OCSP for another certificate, OCSP tryLater),
and `go_down()` / `come_back()` to close and reopen the listening socket on the same port.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from enum import StrEnum

from aiohttp import web

from devtools.testpki.loader import TestPKI
from devtools.testpki.revocation import OcspBehaviour, RevocationAuthority

HOST = "127.0.0.1"


class Behaviour(StrEnum):
    NORMAL = "normal"
    HANG = "hang"  # accept the request, never answer: clients must time out
    HTTP_ERROR = "http_error"
    OCSP_WRONG_CERT = "ocsp_wrong_cert"
    OCSP_TRY_LATER = "ocsp_try_later"


class RevocationResponder:
    def __init__(self, pki: TestPKI) -> None:
        self.authorities = {name: RevocationAuthority(pki, name) for name in pki.authorities()}
        self.behaviour = Behaviour.NORMAL
        self.crl_available = True  # False: CRL requests get 404, so only OCSP can answer
        self.ocsp_available = True  # False: OCSP requests get 404, so only CRLs can answer
        self.hits: Counter[str] = Counter()  # "crl/<ca>" and "ocsp/<ca>" → requests answered or hung
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._hanging: set[asyncio.Future[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/crl/{ca}.crl", self._crl)
        app.router.add_post("/ocsp/{ca}", self._ocsp)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen(port)

    async def go_down(self) -> None:
        """Close the listening socket: clients get 'connection refused', like a dead server."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        if self._site is None and self.port is not None:
            await self._listen(self.port)

    async def stop(self) -> None:
        for future in self._hanging:
            future.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, HOST, port, reuse_address=True)
        await self._site.start()
        self.port = int(self._runner.addresses[-1][1])  # the real port when 0 was asked for

    async def _crl(self, request: web.Request) -> web.Response:
        authority = self._authority(request)
        self.hits[f"crl/{authority.name}"] += 1
        if not self.crl_available:
            raise web.HTTPNotFound()
        await self._misbehave()
        return web.Response(body=authority.crl_der(), content_type="application/pkix-crl")

    async def _ocsp(self, request: web.Request) -> web.Response:
        authority = self._authority(request)
        self.hits[f"ocsp/{authority.name}"] += 1
        if not self.ocsp_available:
            raise web.HTTPNotFound()
        await self._misbehave()
        body = await request.content.read(64 * 1024)
        mode = {
            Behaviour.OCSP_WRONG_CERT: OcspBehaviour.WRONG_CERT,
            Behaviour.OCSP_TRY_LATER: OcspBehaviour.TRY_LATER,
        }
        response = authority.ocsp_der(body, mode.get(self.behaviour, OcspBehaviour.NORMAL))
        return web.Response(body=response, content_type="application/ocsp-response")

    def _authority(self, request: web.Request) -> RevocationAuthority:
        authority = self.authorities.get(request.match_info["ca"])
        if authority is None:
            raise web.HTTPNotFound()
        return authority

    async def _misbehave(self) -> None:
        if self.behaviour is Behaviour.HTTP_ERROR:
            raise web.HTTPServiceUnavailable()
        if self.behaviour is Behaviour.HANG:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hanging.add(future)
            try:
                await future
            finally:
                self._hanging.discard(future)
