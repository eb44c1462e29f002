"""The kiosk door's edge: who is calling, how much they may send, and what every answer carries, all
decided before a route reads (let alone decodes) a byte of the body.

In order, for each request to the API (``/v1/…``):

1. The kiosk: the one the TLS client certificate names (the handshake already refused anyone without a
   certificate from the kiosk CA; see ``adapters/device_pki.py``). No certificate, or a revoked one: 401.
2. The body: a ``Content-Length`` over ``max_body_bytes`` is a 413 at once; a chunked body is counted
   as it streams and refused with 413 the moment it passes the limit.
3. The session: every call but opening one names its session (``Authorization: Bearer``); it must be
   live and belong to this kiosk, or the call is refused (audited, through ``KioskAccess``) without
   its body being read. The guard's admission of the call is read with it (one look at the
   database), and the route's call spends that admission.

Every answer, refusals and the web app included, carries ``Cache-Control: no-store`` and
``X-Content-Type-Options: nosniff``: a kiosk is shared by strangers, and nothing it was told may linger.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable, Container, MutableMapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException

from baylink import errors
from baylink.runtime.db import database_down, database_unavailable
from services.gateway.kiosk.adapters.device_pki import KioskDevice, kiosk_of_certificate
from services.gateway.kiosk.entrypoints import i18n
from services.gateway.kiosk.entrypoints.api import ADMISSION, DEVICE_REQUIRED
from services.gateway.kiosk.entrypoints.metrics import EDGE, ROUTE_LABEL
from services.gateway.kiosk.service_layer.access import KioskAccess
from services.gateway.shared.entrypoints.http_server import PEER_CERTIFICATE

log = logging.getLogger("baylink.gateway.kiosk")

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]
BODY_TOO_LARGE = "BODY_TOO_LARGE"
DEVICE_REVOKED = "KIOSK_CERTIFICATE_REVOKED"
ALWAYS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes")


def device_of_scope(scope: Scope) -> KioskDevice | None:
    der = (scope.get("state") or {}).get(PEER_CERTIFICATE)
    return _device_of_certificate(der) if der else None


@functools.lru_cache(maxsize=4096)
def _device_of_certificate(der: bytes) -> KioskDevice | None:
    """The kiosk a certificate names, parsed once per certificate (a kiosk's every call presents the same one)."""
    try:
        return kiosk_of_certificate(der)
    except (errors.Unauthenticated, ValueError):
        return None  # chains to the kiosk CA but names no kiosk: no kiosk at all


def _bearer(scope: Scope) -> str | None:
    value = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _opens_session(scope: Scope) -> bool:
    return scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/sessions"


class KioskEdge:
    def __init__(
        self, app: App, *, access: KioskAccess, max_body_bytes: int, languages: Sequence[str],
        revoked: Container[str] = frozenset(),
    ):  # fmt: skip
        self.app = app
        self.revoked = revoked  # fingerprints of revoked device certificates
        self.access = access
        self.max_body_bytes = max_body_bytes
        self.languages = tuple(languages)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        if not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)  # the web app's static files: no body, no session
            return
        device = device_of_scope(scope)
        if device is None:
            error = errors.Unauthenticated("a kiosk device certificate is required", reason=DEVICE_REQUIRED)
            await self._refuse(scope, send, 401, error.reason, error.message)
            return
        if device.fingerprint in self.revoked:
            await self._refuse(scope, send, 401, DEVICE_REVOKED, "this kiosk's device certificate has been revoked")
            return
        state = scope.setdefault("state", {})
        state["kiosk_device"] = device
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._refuse(scope, send, 413, BODY_TOO_LARGE, BodyTooLarge(self.max_body_bytes).detail)
            return
        if not _opens_session(scope):
            refusal = await self._session_refusal(scope, device)
            if refusal is not None:
                status, error = refusal
                wait = getattr(error, "retry_after_seconds", None)
                await self._refuse(scope, send, status, error.reason, error.message, retry_after=wait)
                return
        await self.app(scope, self._counted(receive), send)

    async def _session_refusal(self, scope: Scope, device: KioskDevice) -> tuple[int, errors.BaylinkError] | None:
        """None when the call names a live session of this kiosk; else why not, audited like any call.
        The guard admits the call in the same look at the database (``KioskAccess.admit``); a call it
        refuses goes on to its route, which refuses it under its own action."""
        token = _bearer(scope)
        access = self.access
        try:
            admission = await access.admit(device.kiosk_id, token)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("kiosk session check: the database is unavailable: %s", exc)
            return 503, database_down()  # answered here: this middleware runs outside the app's handlers
        known = admission.session
        if known is not None and known.kiosk_id == device.kiosk_id and access.sessions.clock() < known.expires_at:
            scope["state"][ADMISSION] = admission
            return None
        try:
            async with access.call("Authenticate", admission):
                pass
        except errors.BaylinkError as exc:
            status = {errors.PermissionDenied: 403, errors.ResourceExhausted: 429}.get(type(exc), 401)
            return status, exc
        return None  # became valid meanwhile (cannot happen for an unknown token); let the route decide

    def _counted(self, receive: Any) -> Any:
        limit, seen = self.max_body_bytes, 0

        async def receive_counted() -> MutableMapping[str, Any]:
            nonlocal seen
            message: MutableMapping[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)  # FastAPI re-raises HTTPExceptions from the body read
            return message

        return receive_counted

    @staticmethod
    def _with_headers(send: Any) -> Any:
        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in ALWAYS if name not in present]
                message["headers"] = headers
            await send(message)

        return send_with_headers

    async def _refuse(
        self, scope: Scope, send: Any, status: int, code: str, text: str, *, retry_after: float | None = None
    ) -> None:
        scope[ROUTE_LABEL] = EDGE  # refused before routing: metrics count it under one label of its own
        accept = dict(scope.get("headers") or ()).get(b"accept-language", b"").decode("latin-1")
        language = i18n.from_accept_language(accept, self.languages) or i18n.EN
        body = {
            "code": code,
            "message": i18n.message(code, language, text),
            "fields": [],
            "correlation_id": str((scope.get("state") or {}).get("correlation_id", "")),
        }
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 429:  # the kiosk's own rate, spent on refused calls too
            headers.append((b"retry-after", str(max(1, math.ceil(retry_after or 1))).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
