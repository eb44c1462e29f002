"""RFC 3161 over HTTP (section 3.4): POST an application/timestamp-query, get an application/timestamp-reply.

Every answer that reaches the protocol is a TimeStampResp: a body that is not a request gets a
rejection with badDataFormat (HTTP 200, as the RFC's HTTP transport has it). Before the
protocol: a wrong media type gets HTTP 415 and a body over ``max_request_bytes`` HTTP 413, each
with a rejection (badRequest) as its body, so a client reading TSP still learns why. Binds to
the host given (127.0.0.1 unless configured otherwise).
"""

from __future__ import annotations

from aiohttp import web

from services.identity.tsa.authority import Refused, TimeStampAuthority, rejection

QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"


class TimeStampServer:
    def __init__(self, authority: TimeStampAuthority, max_request_bytes: int = 16 * 1024) -> None:
        self.authority = authority
        self.max_request_bytes = max_request_bytes
        self.port: int | None = None
        self.granted = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=self.max_request_bytes)
        app.router.add_post("/", self._stamp)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port, reuse_address=True).start()
        self.port = int(self._runner.addresses[-1][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _stamp(self, request: web.Request) -> web.Response:
        if request.content_type != QUERY:
            return self._refuse(415, f"the request's media type must be {QUERY}")
        if request.content_length is not None and request.content_length > self.max_request_bytes:
            return self._refuse(413, f"requests above {self.max_request_bytes} bytes are refused")
        body = await request.content.read(self.max_request_bytes + 1)
        if len(body) > self.max_request_bytes:
            return self._refuse(413, f"requests above {self.max_request_bytes} bytes are refused")
        try:
            answer = self.authority.issue(body).response
            self.granted += 1
        except Refused as refused:
            answer = rejection(refused.fail_info, refused.text)
            self.refused += 1
        return web.Response(body=answer, content_type=REPLY)

    def _refuse(self, status: int, text: str) -> web.Response:
        self.refused += 1
        return web.Response(status=status, body=rejection("bad_request", text), content_type=REPLY)
