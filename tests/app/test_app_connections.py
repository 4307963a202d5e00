"""Connections from the load balancer: an idle keep-alive connection outlives the load balancer's idle
timeout, and the client address comes from X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_support import Procs, free_port, http_status

from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEEP_ALIVE = 8
IDLE = 6.5
"""Longer than uvicorn's default keep-alive (5 s), shorter than the configured one."""


def _get(sock: socket.socket, path: str, headers: str = "") -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: api\r\n{headers}\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def _access_lines(log: Path, request_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("request_id") == request_id and line.get("msg") == "request"]


def test_keep_alive_outlives_the_idle_time_and_proxies_outside_the_vpc_are_not_believed(
    local_stack: Any, tmp_path: Path
) -> None:
    port = free_port()
    env = dict(os.environ) | local_stack.app_env
    env |= {"NEXUS_PORT": str(port), "NEXUS_WORKERS": "1", "PYTHONPATH": str(REPO)}
    # As the ConfigMap sets them in AWS: a keep-alive above the (here shortened) idle time, and forwarded
    # headers trusted from the VPC's range only, which does not hold this test's loopback address.
    env |= {"NEXUS_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE), "NEXUS_FORWARDED_ALLOW_IPS": "10.0.0.0/16"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    procs = Procs(tmp_path, REPO)
    try:
        procs.start("api", [sys.executable, "-m", "app.serve"], env)
        wait_until(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=30, what="the API")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert _get(sock, "/healthz").startswith(b"HTTP/1.1 200")
            time.sleep(IDLE)
            request_id = uuid.uuid4().hex
            again = _get(
                sock, "/openapi.json", f"X-Request-ID: {request_id}\r\nX-Forwarded-For: 203.0.113.9\r\n"
            )
            assert again.startswith(b"HTTP/1.1 200"), f"the idle connection was closed: {again!r}"
        wait_until(lambda: bool(_access_lines(tmp_path / "api.log", request_id)), what="the access line")
        (line,) = _access_lines(tmp_path / "api.log", request_id)
        assert line["client"] == "127.0.0.1", "a peer outside the trusted range cannot choose its address"
    finally:
        procs.stop_all()


def test_the_load_balancers_forwarded_address_is_logged(local_stack: Any) -> None:
    """The devstack's API trusts loopback, where nginx (its load balancer) is."""
    request_id = uuid.uuid4().hex
    headers = {"x-request-id": request_id, "x-forwarded-for": "203.0.113.9"}
    assert httpx.get(f"{local_stack.api_url(0)}/openapi.json", headers=headers, timeout=10).status_code == 200
    log = local_stack.log_path("api-0")
    wait_until(lambda: bool(_access_lines(log, request_id)), what="the access line")
    (line,) = _access_lines(log, request_id)
    assert line["client"] == "203.0.113.9"
