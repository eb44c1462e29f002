"""What the console's routes need: its use cases, the topic reader, and a few settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from baylink.ops.reader import TopicReader
from baylink.runtime.settings import KafkaSettings
from services.gateway.console.service_layer.alerts import AlertBook
from services.gateway.console.service_layer.auth import ConsoleAuth
from services.gateway.console.service_layer.dlq import ConsoleDlq
from services.gateway.console.service_layer.hub import ConsoleHub


@dataclass
class ConsoleDeps:
    auth: ConsoleAuth
    hub: ConsoleHub
    reader: TopicReader
    dlq: ConsoleDlq
    alerts: AlertBook
    kafka: KafkaSettings
    topics: list[str]
    cookie_secure: bool = True  # False only for local HTTP (BAYLINK_GATEWAY_CONSOLE_INSECURE_COOKIES=1)
    heartbeat_seconds: float = 15.0
    flow_lookback: timedelta = timedelta(hours=72)
