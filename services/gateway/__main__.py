"""``python -m services.gateway``: the gateway (kiosk HTTP API, partner mTLS API, audit) until SIGTERM."""

from __future__ import annotations

import asyncio

from baylink.runtime.logging import configure_logging
from services.gateway.bootstrap import bootstrap
from services.gateway.config import GatewaySettings


async def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    await bootstrap(settings).run()


if __name__ == "__main__":
    asyncio.run(main())
