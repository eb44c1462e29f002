"""Logging in and out, and who is logged in."""

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from services.gateway.console.entrypoints.deps import ConsoleDeps
from services.gateway.console.entrypoints.sessions import COOKIE, Callers


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


def router(deps: ConsoleDeps, callers: Callers) -> APIRouter:
    Viewer, Checked = callers.viewer, callers.checked
    routes = APIRouter(prefix="/console/api")

    @routes.post("/login")
    async def login(body: LoginRequest, request: Request, response: Response) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            # Another site's page may not sign this browser in (login CSRF) nor guess through it.
            raise HTTPException(403, "log in from the console's own page")
        address = request.client.host if request.client else ""
        found = await deps.auth.login(body.username, body.password, address, replacing=request.cookies.get(COOKIE))
        if found is None:
            raise HTTPException(401, "wrong user name or password")
        response.set_cookie(COOKIE, found.token, max_age=int(deps.auth.ttl_seconds), path="/console", httponly=True,
                            samesite="strict", secure=deps.cookie_secure)  # fmt: skip
        return {"username": found.username, "role": found.role, "csrf_token": found.csrf_token}

    @routes.post("/logout")
    async def logout(current: Checked, request: Request, response: Response) -> dict[str, str]:
        await deps.auth.sign_out(current, request.client.host if request.client else "")
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict", secure=deps.cookie_secure)
        return {"username": current.username}

    @routes.get("/me")
    async def me(current: Viewer) -> dict[str, str]:
        # The token too, so a console opened in a new tab (cookie, no token yet) can act; another
        # origin cannot read this answer, which is what keeps the token from a forged request.
        return {"username": current.username, "role": current.role, "csrf_token": current.csrf_token}

    return routes
