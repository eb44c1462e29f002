"""Where a registration's time goes: every kiosk API call of a flow timed by its route.

`StepTimer.watch(client)` adds event hooks to an httpx client (or the hook of a `BareKioskHttp`): each
request is timed from the moment it is handed to the transport until the response head arrives, and
filed under its method and path with the ids in it replaced by ``{id}``
(``POST /v1/applications/{id}/materials/{id}/signature``).
Steps that are not one HTTP call (waiting for the fee event, the city's approval) are added with
`StepTimer.add`. `StepTimer.table` prints calls per flow, p50 and p95 per call, and each step's share
of the summed flow time (steps may overlap: the kiosk's polls while it waits for the fee event are
calls of their own and part of the wait).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import Any

import httpx

from benchmarks.kiosk_http import BareKioskHttp

_STARTED = "benchmark_started"
# The kiosk API's collections whose next path segment is an id (see services/gateway/kiosk/entrypoints).
_COLLECTIONS = {"applications", "materials"}


def route(method: str, path: str) -> str:
    parts = path.split("/")
    named = [("{id}" if i and parts[i - 1] in _COLLECTIONS else part) for i, part in enumerate(parts)]
    return f"{method} " + "/".join(named)


class StepTimer:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def add(self, step: str, seconds: float) -> None:
        self.samples[step].append(seconds)

    def watch(self, client: httpx.AsyncClient | BareKioskHttp) -> None:
        if isinstance(client, BareKioskHttp):
            client.on_response = self._on_bare_response
            return
        if self._on_response in client.event_hooks["response"]:
            return
        client.event_hooks["request"].append(self._on_request)
        client.event_hooks["response"].append(self._on_response)

    def _on_bare_response(self, method: str, path: str, seconds: float) -> None:
        self.add(route(method, path), seconds)

    @staticmethod
    async def _on_request(request: httpx.Request) -> None:
        request.extensions[_STARTED] = time.perf_counter()

    async def _on_response(self, response: httpx.Response) -> None:
        started: Any = response.request.extensions.get(_STARTED)
        if started is not None:
            self.add(route(response.request.method, response.request.url.path), time.perf_counter() - started)

    def table(self, flows: int, flow_seconds: float) -> list[str]:
        """One line per step, the largest total first; ``flow_seconds``: the flows' latencies summed."""
        total = flow_seconds or 1.0
        rows = sorted(self.samples.items(), key=lambda item: -sum(item[1]))
        lines = [f"  {'step':<58} {'per flow':>8} {'p50 ms':>8} {'p95 ms':>8} {'share':>6}"]
        for step, seconds in rows:
            ordered = sorted(seconds)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            lines.append(
                f"  {step:<58} {len(seconds) / max(flows, 1):8.1f} {statistics.median(seconds) * 1000:8.1f} "
                f"{p95 * 1000:8.1f} {sum(seconds) / total:6.1%}"
            )
        return lines
