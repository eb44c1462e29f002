"""``python -m services.registry``: run the registry service until SIGTERM."""

from __future__ import annotations

import asyncio

from baylink.runtime.logging import configure_logging
from services.registry.bootstrap import bootstrap
from services.registry.config import RegistrySettings


async def main() -> None:
    settings = RegistrySettings()
    configure_logging("registry", settings.log_level)
    await bootstrap(settings).run()


if __name__ == "__main__":
    asyncio.run(main())
