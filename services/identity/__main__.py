"""``python -m services.identity``: run the identity service until SIGTERM."""

from __future__ import annotations

import asyncio

from baylink.runtime.logging import configure_logging
from services.identity.bootstrap import bootstrap
from services.identity.config import IdentitySettings


async def main() -> None:
    settings = IdentitySettings()
    configure_logging("identity", settings.log_level)
    await bootstrap(settings).host.run()


if __name__ == "__main__":
    asyncio.run(main())
