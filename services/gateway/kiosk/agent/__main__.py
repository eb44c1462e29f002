"""``python -m services.gateway.kiosk.agent``: the kiosk agent on this machine's loopback until SIGTERM."""

from __future__ import annotations

import asyncio

import uvicorn

from baylink.runtime.logging import configure_logging
from services.gateway.kiosk.agent.app import create_agent_app, gateway_client
from services.gateway.kiosk.agent.config import KioskAgentSettings


async def main() -> None:
    settings = KioskAgentSettings()
    configure_logging("kiosk-agent", "INFO")
    async with gateway_client(settings) as gateway:
        config = uvicorn.Config(create_agent_app(gateway), host=settings.host, port=settings.port,
                                log_config=None, access_log=False, lifespan="off")  # fmt: skip
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    asyncio.run(main())
