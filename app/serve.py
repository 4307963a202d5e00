"""`python -m app.serve`: one process manager (uvicorn's) running NEXUS_WORKERS worker processes.

Before the workers start, PROMETHEUS_MULTIPROC_DIR is pointed at a fresh directory under /tmp (the only
writable path in the pod), so /metrics aggregates every worker. On SIGTERM uvicorn stops accepting, lets
in-flight requests finish (up to the graceful timeout), then runs each worker's lifespan shutdown, which
closes the pools.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import uvicorn

from app.core.logs import configure_logging
from app.core.settings import Settings, get_settings

GRACEFUL_SHUTDOWN_SECONDS = 20


def prepare_metrics_dir() -> tuple[str, bool]:
    """The multiprocess metrics directory, emptied, and whether this process created it."""
    existing = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if existing:
        # Samples of a previous run would be counted again: start empty.
        shutil.rmtree(existing, ignore_errors=True)
        Path(existing).mkdir(parents=True, exist_ok=True)
        return existing, False
    path = tempfile.mkdtemp(prefix="nexus-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path, True


def main() -> int:
    settings = get_settings()  # fail fast on bad settings, before any worker starts
    configure_logging(settings.server.log_level)
    metrics_dir, created = prepare_metrics_dir()
    try:
        _run(settings)
    finally:
        if created:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _run(settings: Settings) -> None:
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=settings.server.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # keep our JSON logging
        # X-Forwarded-For/-Proto only from the load balancer's addresses (the VPC in AWS, loopback locally).
        proxy_headers=True,
        forwarded_allow_ips=settings.server.forwarded_allow_ips,
        # Above the load balancer's idle timeout: the load balancer closes idle connections first, so it
        # never sends a request on a connection the API is closing at that moment (a 502).
        timeout_keep_alive=settings.server.keep_alive_seconds,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )


if __name__ == "__main__":
    sys.exit(main())
