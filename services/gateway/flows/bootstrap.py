"""Wires the flow worker, its own process: settings from the environment, payments for refunds, the faust app.

``app.py`` calls it once at import (``faust -A services.gateway.flows.app``); ``__main__`` runs the result.
"""

from __future__ import annotations

import faust

from baylink.runtime.grpc.tls import InternalTransport
from services.gateway.flows.config import FlowSettings
from services.gateway.flows.refund import Refunds
from services.gateway.flows.worker import build_app


def bootstrap(settings: FlowSettings | None = None) -> faust.App:
    """The worker's faust app; the payments client is made on first use, inside the worker's loop."""
    settings = settings or FlowSettings()
    transport = InternalTransport.from_settings(settings.internal, "gateway-flows")
    return build_app(settings, lambda: Refunds(settings.payments_target, transport, settings.call_timeout_seconds))
