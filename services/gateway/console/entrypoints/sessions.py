"""Who is calling: the session cookie, the CSRF token on POSTs, the operator role, as FastAPI dependencies.

No ``from __future__ import annotations`` here or in the routers: FastAPI reads the ``Annotated``
dependencies these make from the routes' signatures at definition time.
"""

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from services.gateway.console.service_layer.auth import ConsoleAuth, ConsoleSession

COOKIE = "baylink_console"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Callers:
    """Parameter types for routes: ``viewer`` any session, ``checked`` one whose request carries its CSRF
    token (every POST but login), ``operator`` a checked session that may operate."""

    viewer: Any
    checked: Any
    operator: Any


def callers(auth: ConsoleAuth) -> Callers:
    async def session(request: Request) -> ConsoleSession:
        found = await auth.session(request.cookies.get(COOKIE))
        if found is None:
            raise HTTPException(401, "log in first")
        return found

    def checked(request: Request, current: Annotated[ConsoleSession, Depends(session)]) -> ConsoleSession:
        """A session whose request carries its CSRF token (every POST but login)."""
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), current.csrf_token.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        return current

    def operator(current: Annotated[ConsoleSession, Depends(checked)]) -> ConsoleSession:
        if not current.may_operate:
            raise HTTPException(403, "operators only")
        return current

    return Callers(
        viewer=Annotated[ConsoleSession, Depends(session)],
        checked=Annotated[ConsoleSession, Depends(checked)],
        operator=Annotated[ConsoleSession, Depends(operator)],
    )
