"""Failing dependencies: a clear 503 naming the part, never a hang; the API recovers when it returns.

These tests stop and start services of the shared session stack; each restores what it stopped.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_support import api_with_tenant_map, create_document, free_port

from tests.support.clients import User, fully_ready
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_redis_down_reads_and_writes_go_on_queue_says_503(
    api: httpx.Client, new_user: Any, local_stack: Any
) -> None:
    user: User = new_user("acme")
    doc = create_document(api, user, "before", "redis stops")
    url = f"/v1/documents/{doc['id']}"
    local_stack.stop_redis()
    try:
        started = time.monotonic()
        assert api.get(url, headers=user.headers).json()["title"] == "before"
        assert (
            api.put(
                url, json={"title": "during", "body": "x", "version": 1}, headers=user.headers
            ).status_code
            == 200
        )
        assert api.get(url, headers=user.headers).json()["title"] == "during"
        assert create_document(api, user)["version"] == 1
        assert api.get("/v1/documents", headers=user.headers).status_code == 200
        # Degraded, still ready: the pod serves every tenant, reads without the cache.
        ready = api.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["failing"] == ["redis"]
        queued = api.post("/v1/exports", headers=user.headers)
        assert queued.status_code == 503
        assert queued.json()["error"]["code"] == "queue_unavailable"
        assert "redis" in queued.json()["error"]["message"]
        assert queued.headers["retry-after"] == "1"
        assert time.monotonic() - started < 15, "every answer came quickly (short timeouts, no hang)"
    finally:
        local_stack.start_redis()
    wait_until(lambda: fully_ready(api), what="/readyz after redis returned")
    # The cache did not keep a stale copy, and the worker survived the outage: an export runs.
    assert api.get(url, headers=user.headers).json()["title"] == "during"
    job_id = api.post("/v1/exports", headers=user.headers).json()["job_id"]
    wait_until(
        lambda: api.get(f"/v1/exports/{job_id}", headers=user.headers).json()["status"] == "done",
        timeout=60,
        what="the export after redis came back",
    )


def test_replica_down_reads_fall_back_to_the_writer(
    api: httpx.Client, new_user: Any, local_stack: Any
) -> None:
    user: User = new_user("initech")  # shard-b
    create_document(api, user)
    local_stack.stop_replica("shard-b")
    try:
        listed = api.get("/v1/documents", headers=user.headers)
        assert listed.status_code == 200
        assert api.get("/v1/reports/summary", headers=user.headers).status_code == 200
        ready = api.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["failing"] == ["shard-b.reader"]
        # The other shard is untouched.
        assert ready.json()["checks"]["shard-a"]["writer"] == "ok"
    finally:
        local_stack.start_replica("shard-b")
    wait_until(lambda: fully_ready(api), what="/readyz after the replica returned")


def test_sigterm_finishes_in_flight_requests(api: httpx.Client, new_user: Any, local_stack: Any) -> None:
    user: User = new_user("acme")
    doc = create_document(api, user)
    boundary = "nexus-drain"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    first_sent, release = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        # An upload whose body is still arriving when SIGTERM lands: deterministically in flight.
        yield head + b"a" * 1000
        first_sent.set()
        release.wait(timeout=20)
        yield b"b" * 1000 + tail

    def upload() -> httpx.Response:
        return httpx.post(
            f"{local_stack.api_url(0)}/v1/documents/{doc['id']}/attachments",
            content=slow_body(),
            headers=user.headers | {"content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=30,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        in_flight = pool.submit(upload)
        assert first_sent.wait(timeout=10)
        time.sleep(0.3)
        stopping = pool.submit(local_stack.stop_api, 0, signal.SIGTERM)
        time.sleep(0.5)
        assert not stopping.done(), "the server waits for the in-flight request"
        release.set()
        response = in_flight.result()
        exit_code = stopping.result()
    try:
        assert response.status_code == 201, response.text
        assert response.json()["size_bytes"] == 2000
        # uvicorn re-raises the captured SIGTERM once shutdown is complete, so the exit status says SIGTERM.
        assert exit_code in (0, -signal.SIGTERM)
        log = local_stack.log_path("api-0").read_text()
        assert '"msg":"stopped"' in log, "the lifespan shutdown ran (pools closed)"
        assert "Application shutdown complete" in log
    finally:
        local_stack.start_api(0)


def test_dead_writer_is_a_fast_503_for_its_shard_only(local_stack: Any, tmp_path: Path) -> None:
    """An API whose tenant map points shard-b's writer at a port where nothing listens."""
    tenant_map = local_stack.tenant_map
    tenant_map["shards"]["shard-b"]["writer"]["port"] = free_port()
    with api_with_tenant_map(local_stack, tenant_map, tmp_path) as base:
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, "shard-a can still be served"
        assert ready.json()["failing"] == ["shard-b.writer"]
        creds = {"email": f"w-{secrets.token_hex(4)}@example.com", "password": "long enough pw"}
        started = time.monotonic()
        refused = httpx.post(f"{base}/v1/auth/register", json=creds | {"tenant": "initech"}, timeout=30)
        assert refused.status_code == 503
        assert refused.json()["error"] == {
            "code": "shard_unavailable",
            "message": "database shard-b.writer is unreachable",
        }
        assert time.monotonic() - started < 10
        # shard-a's tenants are unaffected.
        assert (
            httpx.post(f"{base}/v1/auth/register", json=creds | {"tenant": "acme"}, timeout=30).status_code
            == 201
        )


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began


@pytest.mark.parametrize("outage", ["freeze", "stop"])
def test_one_shard_down_is_a_fast_503_for_its_tenants_only(
    api: httpx.Client, new_user: Any, local_stack: Any, outage: str
) -> None:
    """shard-b's primary and replica stop answering (frozen by SIGSTOP: connections hang; or stopped:
    connections are refused). shard-b's tenants get a 503 with Retry-After and `shard_unavailable` well
    within 2 s, from the first request on; shard-a's tenants keep reading and writing; /readyz stays 200."""
    on_a: User = new_user("acme")  # shard-a
    on_b: User = new_user("initech")  # shard-b
    doc_a = create_document(api, on_a)
    fail, repair = (
        (local_stack.freeze_shard, local_stack.thaw_shard)
        if outage == "freeze"
        else (local_stack.stop_shard, local_stack.start_shard)
    )
    b_calls: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("list", lambda: api.get("/v1/documents", headers=on_b.headers)),
        ("create", lambda: api.post("/v1/documents", json={"title": "t", "body": "b"}, headers=on_b.headers)),
        ("report", lambda: api.get("/v1/reports/summary", headers=on_b.headers)),
        (
            "login",
            lambda: api.post(
                "/v1/auth/token", json={"tenant": "initech", "email": on_b.email, "password": on_b.password}
            ),
        ),
    ]
    latencies: list[tuple[str, float]] = []
    a_statuses: list[int] = []
    fail("shard-b")
    try:
        for _ in range(3):  # every call at least twice per API instance behind nginx
            for name, call in b_calls:
                response, seconds = _timed(call)
                latencies.append((name, seconds))
                assert response.status_code == 503, (name, response.text)
                assert response.json()["error"]["code"] == "shard_unavailable"
                assert "shard-b" in response.json()["error"]["message"]
                assert response.headers["retry-after"] == "1"
                assert seconds < 2.0, (name, seconds)
            # shard-a in the same moments: writes, the writer read, the replica reads.
            made = create_document(api, on_a)
            a_statuses += [
                api.get(f"/v1/documents/{made['id']}", headers=on_a.headers).status_code,
                api.put(
                    f"/v1/documents/{doc_a['id']}",
                    json={"title": "t", "body": "again", "version": doc_a["version"]},
                    headers=on_a.headers,
                ).status_code,
                api.get("/v1/documents", headers=on_a.headers).status_code,
                api.get("/v1/reports/summary", headers=on_a.headers).status_code,
            ]
            doc_a["version"] += 1
        ready = api.get("/readyz")
        assert ready.status_code == 200, "the pod still serves shard-a: it stays in the load balancer"
        assert ready.json()["status"] == "degraded"
        assert set(ready.json()["failing"]) == {"shard-b.writer", "shard-b.reader"}
        assert ready.json()["checks"]["shard-a"]["writer"] == "ok"
    finally:
        repair("shard-b")
    assert set(a_statuses) == {200}, a_statuses
    for index in range(2):
        with httpx.Client(base_url=local_stack.api_url(index)) as direct:
            wait_until(lambda: fully_ready(direct), what=f"api-{index} ready after shard-b returned")
    assert b_calls[1][1]().status_code == 201, "shard-b's tenants are served again"
    figures = {name: [round(s, 3) for n, s in latencies if n == name] for name, _ in b_calls}
    print(f"\nshard-b {outage}: 503 latency per call, in order: {figures}", file=sys.stderr)
