"""The worker's faust app, configured from the environment: ``faust -A services.gateway.flows.app worker``."""

from __future__ import annotations

from services.gateway.flows.settings import FlowSettings
from services.gateway.flows.worker import build_app

settings = FlowSettings()
app = build_app(settings)
