"""A ceiling on request bodies: the console's largest (a login, a discard reason) is about a kilobyte, so
anything over ``MAX_BODY_BYTES`` is refused with 413 before it is read into memory or parsed — by its
``Content-Length`` at once, or, for a chunked body, as soon as the bytes received pass the ceiling.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.console.entrypoints.refusals import refusal

MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = f"the request body is over {MAX_BODY_BYTES} bytes"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await refusal(413, "PAYLOAD_TOO_LARGE", TOO_LARGE)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # handled by the app's refusals, like any HTTP error
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, limited, send)
