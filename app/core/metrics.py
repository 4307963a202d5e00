"""Prometheus metrics.

Multi-process: `python -m app.serve` runs several worker processes, and a scrape reaches only one of them, so
the server uses prometheus_client's multiprocess mode. It points PROMETHEUS_MULTIPROC_DIR at a fresh directory
under /tmp (the only writable path in the pod) before the workers start, and each worker writes its samples
to memory-mapped files there; `/metrics` aggregates them. Without that variable (tests, a single process) the
metrics live in a registry owned by the app instance.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        # In multiprocess mode samples go to the mmap files whatever the registry; keep ours private anyway.
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(
            "nexus_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "nexus_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.cache = Counter(
            "nexus_cache_operations",
            "Document cache lookups and writes by result",
            ["result"],
            registry=reg,
        )
        self.pool = Gauge(
            "nexus_db_pool_connections",
            "Database pool connections by shard, role and state",
            ["shard", "pool", "role", "state"],
            registry=reg,
            multiprocess_mode="livesum",
        )

    def render(self, extra: Iterable[Metric] = ()) -> bytes:
        """The exposition text: this process (or all worker processes) plus values read at scrape time."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        body = generate_latest(registry)
        extras = list(extra)
        if extras:
            scrape_reg = CollectorRegistry()
            scrape_reg.register(_Fixed(extras))
            body += generate_latest(scrape_reg)
        return body


class _Fixed:
    """A collector that yields metric families computed just before the scrape (e.g. queue depth)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def queue_depth_family(depth: float) -> GaugeMetricFamily:
    return GaugeMetricFamily("nexus_queue_depth", "Jobs waiting in the export queue", value=depth)
