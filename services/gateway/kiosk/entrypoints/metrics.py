"""Kiosk HTTP metrics in the gateway's own Prometheus registry (served with the rest at ``/metrics``).

Requests are counted by route *template* (``/v1/applications/{application_id}``, never the id), method
and status, and timed by route and method. A path no route matches counts as ``unmatched`` and a method
outside HTTP's standard ones as ``other`` (a client may send any token as a method), so a scanner
cannot grow the series without bound. A request the edge refused before routing (no session, too
large; ``edge.py``) counts as ``edge``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

UNMATCHED = "unmatched"
EDGE = "edge"
ROUTE_LABEL = "baylink.route_label"  # scope key: a label set before routing, instead of a route template
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class KioskHttpMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter(
            "baylink_kiosk_http_requests",
            "kiosk HTTP requests finished, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "baylink_kiosk_http_request_seconds",
            "kiosk HTTP request latency, by route template and method",
            ["route", "method"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else OTHER_METHOD
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template (set on the scope by the router), else ``unmatched``."""
    if ROUTE_LABEL in scope:
        return str(scope[ROUTE_LABEL])
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class KioskMetricsMiddleware:
    """Outermost of the app's own middleware: it sees the status the kiosk gets, error handlers included."""

    def __init__(self, app: App, metrics: KioskHttpMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler becomes a 500 further out

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(route_template(scope), scope["method"], status, time.perf_counter() - started)
