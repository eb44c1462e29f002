"""``python -m services.identity``: run the identity service until SIGTERM.

With ``BAYLINK_IDENTITY_WORKERS=N`` it runs N processes on the one port (baylink/runtime/workers.py).
"""

from __future__ import annotations

import sys

from baylink.runtime.logging import configure_logging
from baylink.runtime.workers import run_service
from services.identity.bootstrap import build_host
from services.identity.config import IdentitySettings


def main() -> int:
    settings = IdentitySettings()
    configure_logging("identity", settings.log_level)
    return run_service(build_host, settings)


if __name__ == "__main__":
    sys.exit(main())
