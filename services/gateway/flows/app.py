"""The worker's faust app, configured from the environment: ``faust -A services.gateway.flows.app worker``."""

from __future__ import annotations

from services.gateway.flows.bootstrap import bootstrap
from services.gateway.flows.config import FlowSettings

settings = FlowSettings()
app = bootstrap(settings)
