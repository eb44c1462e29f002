"""Alerts for operators, read off the topics the console tails.

- ``security``: every ``security.alert_raised`` event (the bulk-leak guard's refusals, refused peers);
- ``overdue``: every ``application.overdue`` event of the registry;
- ``dlq_growth``: the dead-letter topic received ``threshold`` records within ``window_seconds``
  (once per window, so a flood is one alert, not hundreds).

Kept in memory, newest first, at most ``keep`` of them: each replica builds its own from the topics
(``hub``), all of them the same alerts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from baylink.ops.records import OpsRecord, iso

SECURITY_TYPE = "baylink.gateway.security.alert_raised.v1"
OVERDUE_TYPE = "baylink.registry.application.overdue.v1"


@dataclass(frozen=True)
class Alert:
    kind: str  # "security" | "overdue" | "dlq_growth"
    severity: str
    at: datetime
    message: str
    correlation_id: str = ""
    type: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON shape of the console."""
        return {"kind": self.kind, "severity": self.severity, "at": iso(self.at), "message": self.message,
                "correlation_id": self.correlation_id, "type": self.type}  # fmt: skip


class AlertBook:
    def __init__(self, dlq_topic: str, *, threshold: int = 5, window_seconds: float = 300.0, keep: int = 500):
        self.dlq_topic = dlq_topic
        self.threshold = threshold
        self.window = timedelta(seconds=window_seconds)
        self._alerts: deque[Alert] = deque(maxlen=keep)
        self._dead: deque[datetime] = deque()
        self._last_growth: datetime | None = None

    def clear(self) -> None:
        self._alerts.clear()
        self._dead.clear()
        self._last_growth = None

    @property
    def alerts(self) -> list[Alert]:
        """Newest first."""
        return sorted(self._alerts, key=lambda a: a.at, reverse=True)

    def observe(self, record: OpsRecord) -> Alert | None:
        """Look at one record; the alert it raises, if any (also kept)."""
        alert = self._of(record)
        if alert is not None:
            self._alerts.append(alert)
        return alert

    def _of(self, record: OpsRecord) -> Alert | None:
        if record.topic == self.dlq_topic:
            return self._dead_letter(record)
        if record.type == SECURITY_TYPE:
            severity = str(record.data.get("severity", "")).removeprefix("ALERT_SEVERITY_").lower() or "high"
            city = record.data.get("city_code", "")
            text = f"{record.data.get('kind', 'security')}: {record.data.get('description', '')}"
            return Alert("security", severity, record.timestamp, text + (f" (city {city})" if city else ""),
                         record.correlation_id, record.type)  # fmt: skip
        if record.type == OVERDUE_TYPE:
            app, authority = record.data.get("application_id", record.subject), record.data.get("authority_code", "")
            text = f"application {app} of authority {authority} is past its decision deadline"
            return Alert("overdue", "medium", record.timestamp, text, record.correlation_id, record.type)
        return None

    def _dead_letter(self, record: OpsRecord) -> Alert | None:
        now = record.timestamp
        self._dead.append(now)
        while self._dead and self._dead[0] <= now - self.window:
            self._dead.popleft()
        if len(self._dead) < self.threshold:
            return None
        if self._last_growth is not None and now - self._last_growth < self.window:
            return None
        self._last_growth = now
        seconds = int(self.window.total_seconds())
        text = f"the dead-letter topic {self.dlq_topic} grew by {len(self._dead)} within {seconds} s"
        return Alert("dlq_growth", "high", now, text, record.correlation_id, record.type)
