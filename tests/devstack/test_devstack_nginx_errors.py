"""nginx's own errors, from the devstack's rendered nginx.conf run by a real nginx: the API's JSON error shape
and content type, `Allow` on a 405, `Retry-After` where the API would send one.

Each test talks to a private nginx (the same ``configs.nginx_conf``, with short timeouts) in front of a stub
upstream that accepts connections and never answers, so that 504 and 502 come quickly and no API is needed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.configs import nginx_command, nginx_conf
from devstack.topology import PortPlan

pytestmark = pytest.mark.integration

MAX_BODY = 4096


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class FrontDoor:
    port: int
    stub: socket.socket

    def exchange(self, raw: bytes, *, pause_after: int | None = None, wait: float = 0.0) -> bytes:
        """Send raw bytes (pausing ``wait`` seconds after the first ``pause_after``), read until closed."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as conn:
            if pause_after is None:
                conn.sendall(raw)
            else:
                conn.sendall(raw[:pause_after])
                time.sleep(wait)
                with contextlib.suppress(OSError):  # nginx may have closed already
                    conn.sendall(raw[pause_after:])
            chunks = []
            while True:
                try:
                    chunk = conn.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    def request(self, raw: bytes) -> Response:
        return parse(self.exchange(raw))


def parse(data: bytes) -> Response:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(status, headers, body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def front_door() -> Iterator[FrontDoor]:
    # The one upstream: listening, never accepting, so a proxied request waits until nginx's read timeout.
    stub = socket.socket()
    stub.bind(("127.0.0.1", 0))
    stub.listen(64)
    base = stub.getsockname()[1] - 10
    http = _free_port()
    ports = PortPlan(base=base, http=http, api_instances=1, shard_ids=())
    work = Path(tempfile.mkdtemp(prefix="nexus-nginx-errors-"))
    work.chmod(0o755)
    (work / "temp").mkdir()
    conf = work / "nginx.conf"
    conf.write_text(
        nginx_conf(
            ports=ports,
            prefix=work,
            log_dir=work,
            client_max_body_bytes=MAX_BODY,
            client_timeout_seconds=1,
            upstream_read_timeout_seconds=1,
        )
    )
    proc = subprocess.Popen(nginx_command(prefix=work, conf=conf, log_dir=work))
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert proc.poll() is None, (work / "nginx-error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", http), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield FrontDoor(http, stub)
        print((work / "nginx-error.log").read_text()[-3000:])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stub.close()
        subprocess.run(["rm", "-rf", str(work)], check=False)


def assert_api_error(response: Response, status: int, code: str) -> None:
    assert response.status == status, response
    assert response.headers["content-type"] == "application/json", response.headers
    body = json.loads(response.body)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    assert b"<html" not in response.body.lower()


def test_a_malformed_request_is_a_json_400(front_door: FrontDoor) -> None:
    response = front_door.request(b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert_api_error(response, 400, "bad_request")


def test_a_garbled_request_line_is_a_json_400(front_door: FrontDoor) -> None:
    assert_api_error(front_door.request(b"\x16\x03\x01 not http\r\n\r\n"), 400, "bad_request")


def test_the_error_pages_are_not_reachable_from_outside(front_door: FrontDoor) -> None:
    raw = b"GET /_nexus_error/502 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    assert_api_error(front_door.request(raw), 404, "not_found")


def test_an_oversized_header_is_a_json_400(front_door: FrontDoor) -> None:
    big = b"X-Big: " + b"a" * 40_000 + b"\r\n"
    response = front_door.request(b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + big + b"\r\n")
    assert_api_error(response, 400, "request_header_too_large")


def test_trace_is_a_json_405_with_allow(front_door: FrontDoor) -> None:
    response = front_door.request(b"TRACE /v1/documents HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert_api_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}


def test_a_body_over_the_front_doors_limit_is_a_json_413(front_door: FrontDoor) -> None:
    raw = f"POST /v1/documents HTTP/1.1\r\nHost: a\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
    assert_api_error(front_door.request(raw), 413, "payload_too_large")


def test_a_request_line_over_the_buffer_is_a_json_414(front_door: FrontDoor) -> None:
    raw = b"GET /v1/documents?cursor=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert_api_error(front_door.request(raw), 414, "uri_too_long")


def test_an_upstream_that_does_not_answer_is_a_json_504_then_502(front_door: FrontDoor) -> None:
    get = b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    timed_out = front_door.request(get)
    assert_api_error(timed_out, 504, "gateway_timeout")
    assert timed_out.headers["retry-after"] == "1"
    front_door.stub.close()  # now refused: nginx has no instance to send to
    refused = front_door.request(get)
    assert_api_error(refused, 502, "bad_gateway")
    assert refused.headers["retry-after"] == "1"


def test_a_body_that_stalls_is_closed_without_an_html_page(front_door: FrontDoor) -> None:
    """nginx writes no 408: it closes the connection of a client that stopped sending (the ALB does too)."""
    raw = b"POST /v1/documents HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"{" * 100
    received = front_door.exchange(raw, pause_after=len(raw) - 90, wait=2.5)
    assert received == b"", received[:200]
