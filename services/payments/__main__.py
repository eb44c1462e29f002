"""``python -m services.payments``: the payments service on the shared runtime, until SIGTERM."""

from __future__ import annotations

import asyncio

from baylink.runtime.host import ServiceHost
from baylink.runtime.logging import configure_logging
from services.payments.bootstrap import MIGRATIONS, bootstrap
from services.payments.config import PaymentsSettings
from services.payments.service_layer.expiry import run_expiry
from services.payments.service_layer.settlement import ensure_open_window


async def serve(settings: PaymentsSettings) -> None:
    payments = bootstrap(settings)
    never = asyncio.Event()  # the sweeper ends when the host cancels it at shutdown
    host = ServiceHost(
        settings,
        register=payments.register,
        service_names=payments.service_names,
        db=payments.deps.db,
        migrations=[MIGRATIONS],
        on_start=lambda: ensure_open_window(payments.deps),  # after migrations, before serving
        background=[lambda: run_expiry(payments.deps, settings.expiry_sweep_seconds, never)],
    )
    payments.deps.on_commit = host.relay.wake
    await host.run()


def main() -> None:
    settings = PaymentsSettings()
    configure_logging(settings.service_name, settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
