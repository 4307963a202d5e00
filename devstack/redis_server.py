"""Redis: the app's cache, rate limits and job queue (one server, no persistence)."""

from __future__ import annotations

import socket

from devstack import configs
from devstack.procs import wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime
from devstack.topology import PortPlan


def url(ports: PortPlan) -> str:
    return f"redis://127.0.0.1:{ports.redis}/0"


def start(rt: Runtime) -> None:
    """Start Redis and wait until it answers PING."""
    port = rt.ports.redis
    cmd = configs.redis_command(port=port, workdir=rt.paths.redis, maxmemory=rt.redis_maxmemory)
    service = rt.spawn("redis", "redis", port, cmd, as_service_user=True, marker="redis-server")
    wait_until(
        lambda: _ping(port),
        what="redis",
        timeout=HEALTH_TIMEOUT,
        proc=service.proc,
        log_path=service.log_path,
    )


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
