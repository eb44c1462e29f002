"""The kiosk agent: what runs on the kiosk machine beside its browser. It serves the kiosk web app at
``/kiosk/`` on the machine's loopback and forwards the app's API calls (``/v1/…``) to the gateway's
kiosk door over mutual TLS with the kiosk's device key, so the page in the browser stays what it was
(same origin, same API) while the gateway only ever hears from a kiosk that proves who it is.

The agent adds nothing a request could choose: the kiosk is the one its certificate names, the
session token travels in the ``Authorization`` header as the page sent it. It passes on only the
end-to-end headers (no ``Host``, no hop-by-hop ones) and answers 502 when the gateway cannot be reached.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, check_kiosk_id, client_context
from services.gateway.kiosk.agent.config import KioskAgentSettings
from services.gateway.kiosk.entrypoints.web import WEB_ROOT, KioskStatic

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip


def gateway_client(settings: KioskAgentSettings) -> httpx.AsyncClient:
    paths = KioskPkiPaths.under(settings.pki_dir)
    context = client_context(paths, check_kiosk_id(settings.kiosk_id))
    return httpx.AsyncClient(base_url=settings.gateway_url, verify=context, timeout=settings.timeout_seconds)


def create_agent_app(gateway: httpx.AsyncClient) -> Starlette:
    async def forward(request: Request) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        outgoing = gateway.build_request(
            request.method, request.url.path, params=request.url.query.encode("latin-1"), headers=headers,
            content=request.stream(),
        )  # fmt: skip
        try:
            answer = await gateway.send(outgoing, stream=True)
        except httpx.HTTPError:
            return JSONResponse({"code": "GATEWAY_UNREACHABLE", "message": "the gateway cannot be reached",
                                 "fields": [], "correlation_id": ""}, status_code=502)  # fmt: skip
        back = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code, headers=back,
                                 background=BackgroundTask(answer.aclose))  # fmt: skip

    async def kiosk_root(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/kiosk/{query}", status_code=308)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route("/v1/{rest:path}", forward, methods=methods),
        Route("/kiosk", kiosk_root),
        Mount("/kiosk", KioskStatic(directory=WEB_ROOT, html=True)),
    ]
    return Starlette(routes=routes)
