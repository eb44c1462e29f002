"""``python -m services.payments``: the payments service on the shared runtime, until SIGTERM.

With ``BAYLINK_PAYMENTS_WORKERS=N`` it runs N processes on the one port (baylink/runtime/workers.py).
"""

from __future__ import annotations

import sys

from baylink.runtime.logging import configure_logging
from baylink.runtime.workers import run_service
from services.payments.bootstrap import build_host
from services.payments.config import PaymentsSettings


def main() -> int:
    settings = PaymentsSettings()
    configure_logging(settings.service_name, settings.log_level)
    return run_service(build_host, settings)


if __name__ == "__main__":
    sys.exit(main())
