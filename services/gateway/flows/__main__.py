"""``python -m services.gateway.flows``: the flow worker (no web server) until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from services.gateway.flows.app import app, settings
from services.gateway.flows.worker import create_flow_events_topic

if __name__ == "__main__":
    asyncio.run(create_flow_events_topic(settings))
    sys.argv = [sys.argv[0], "worker", "--without-web", "-l", settings.log_level]
    app.main()
