"""Prometheus metrics of one service process, on a registry of its own.

A registry per service (not the global one) lets tests run several services in
one process and read each one's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


@dataclass
class ServiceMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.rpc_handled = Counter(
            "baylink_grpc_server_handled",
            "gRPC calls finished, by method and status code",
            ["method", "code"],
            registry=r,
        )
        self.rpc_latency = Histogram(
            "baylink_grpc_server_handling_seconds",
            "gRPC call latency by method",
            ["method"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events_produced = Counter(
            "baylink_events_produced",
            "events published to Kafka by the outbox relay",
            ["topic", "type"],
            registry=r,
        )
        self.events_consumed = Counter(
            "baylink_events_consumed",
            "events taken from Kafka, by outcome (processed, duplicate, dead_lettered)",
            ["group", "topic", "outcome"],
            registry=r,
        )
        self.outbox_backlog = Gauge("baylink_outbox_backlog", "outbox rows not yet published", registry=r)
        self.retention_pruned = Counter(
            "baylink_retention_pruned_rows",
            "rows deleted by the retention sweep (sent outbox rows, remembered inbox ids)",
            ["table"],
            registry=r,
        )
        self.wal_pages_behind = Gauge(
            "baylink_sqlite_wal_pages_behind",
            "SQLite WAL pages not yet copied into the database file at the last background checkpoint",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "baylink_consumer_lag",
            "records behind the partition's high watermark",
            ["group", "topic", "partition"],
            registry=r,
        )

    def serve(self, host: str, port: int) -> MetricsServer:
        """Expose ``/metrics`` over HTTP on ``host:port`` (0: any free port)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(server, host)


@dataclass
class MetricsServer:
    server: WSGIServer
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
