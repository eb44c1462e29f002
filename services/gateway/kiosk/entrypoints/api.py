"""What the kiosk routes share: the use cases' dependencies, the language rules, how a call is opened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from baylink import errors
from services.gateway.clients.calls import language_var
from services.gateway.kiosk.entrypoints import i18n
from services.gateway.kiosk.entrypoints.responses import ErrorOut
from services.gateway.kiosk.service_layer.access import KioskCall
from services.gateway.kiosk.service_layer.deps import KioskDeps

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422, 429, 503)
}
DEVICE_REQUIRED = "KIOSK_CERTIFICATE_REQUIRED"
ADMISSION = "kiosk_admission"  # the request state's key of the edge's ``Admission``
bearer = HTTPBearer(auto_error=False, description="The session token from POST /v1/sessions")
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Lang = Annotated[str | None, Query(description="zh-Hant, zh-Hans, en or pt; overrides Accept-Language")]
AcceptLanguage = Annotated[str | None, Header()]


def token_of(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials else None


def device_of(request: Request) -> str:
    """The kiosk the TLS client certificate names (``edge.KioskEdge`` sets it); Unauthenticated without one."""
    device = getattr(request.state, "kiosk_device", None)
    if device is None:
        raise errors.Unauthenticated("a kiosk device certificate is required", reason=DEVICE_REQUIRED)
    return str(device.kiosk_id)


@dataclass
class KioskApi:
    deps: KioskDeps
    languages: tuple[str, ...]
    default_language: str

    @asynccontextmanager
    async def call(
        self, request: Request, action: str, *, token: str | None = None, opening: bool = False,
        lang: str | None = None, accept_language: str | None = None, language: str | None = None,
    ) -> AsyncIterator[KioskCall]:  # fmt: skip
        """An audited, guarded call of the kiosk the device certificate names (``edge.KioskEdge`` put it on
        the request, and with it the guard's admission of this call and its session, if it read them),
        in the language the request asks for (else the session's)."""
        kiosk_id = device_of(request)
        admission = request.scope.get("state", {}).pop(ADMISSION, None)  # spent here, once
        if admission is None or (admission.kiosk_id, admission.token) != (kiosk_id, token):
            admission = await self.deps.access.admit(kiosk_id, token)
        known = admission.session  # even expired: its kiosk hears why in its language
        fallback = known.language if known else self.default_language
        try:
            request.state.language = language or i18n.requested(lang, accept_language, self.languages) or fallback
        except errors.InvalidInput:
            request.state.language = fallback  # refused below, inside the audited call
        async with self.deps.access.call(action, admission, opening=opening) as call:
            asked = language or i18n.requested(lang, accept_language, self.languages)
            request.state.language = asked or (call.session.language if call.session else self.default_language)
            marker = language_var.set(request.state.language)
            try:
                yield call
            finally:
                language_var.reset(marker)
