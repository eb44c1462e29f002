"""The kiosk door while the gateway's own database is out of reach: 503 DATABASE_UNAVAILABLE with
Retry-After, not a 500; a plain bug is still the 500 that names only the correlation id.

A real FastAPI app with the kiosk's error handlers; its route opens a real PostgreSQL connection to a
loopback port where nothing listens (connection refused), as the session store would while PostgreSQL
restarts.
"""

from __future__ import annotations

import socket

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from baylink.runtime.db import Database
from services.gateway.kiosk.entrypoints.errors import install


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+asyncpg://nobody:none@127.0.0.1:{port}/sessions"


def app_with(url: str) -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/v1/session")
    async def session() -> dict[str, int]:
        database = Database(url)
        try:
            async with database.begin(readonly=True) as conn:
                return {"one": (await conn.execute(sa.text("select 1"))).scalar_one()}
        finally:
            await database.dispose()

    @app.get("/v1/bug")
    async def bug() -> dict[str, int]:
        return {"x": 1 // 0}

    return app


async def test_the_database_out_of_reach_is_a_503_with_retry_after() -> None:
    app = app_with(refused_url())
    # Answered, not re-raised to the server (which would log an error per request while it lasts).
    strict = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=strict, base_url="http://kiosk") as client:
        down = await client.get("/v1/session")
    lenient = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=lenient, base_url="http://kiosk") as client:
        bug = await client.get("/v1/bug")
    assert down.status_code == 503, down.text
    assert down.json()["code"] == "DATABASE_UNAVAILABLE" and "try again" in down.json()["message"]
    assert down.headers["Retry-After"] == "1"
    assert bug.status_code == 500 and bug.json()["code"] == "INTERNAL"
