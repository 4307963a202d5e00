"""The app side of the local stack: two API instances behind nginx, the worker, and their controls."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack import LocalStack
from devstack.procs import http_status, pid_alive

pytestmark = pytest.mark.integration


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return -1  # connection refused/reset: what a client of a broken balancer would see


@contextmanager
def _load(url: str, *, threads: int = 4, max_seconds: float = 30.0) -> Iterator[Counter[int]]:
    """GET ``url`` in a few threads until the block ends (bounded in time); yields status counts."""
    counts: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + max_seconds

    def loop() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            status = _status(url)
            with lock:
                counts[status] += 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield counts
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def _assert_graceful(stack: LocalStack, index: int, code: int | None) -> None:
    # uvicorn re-raises SIGTERM once it has shut down cleanly: -15 is its normal exit.
    assert code in (0, -signal.SIGTERM)
    assert "Finished server process" in stack.log_path(f"api-{index}").read_text()


def test_nginx_and_every_instance_are_ready(local_stack: LocalStack) -> None:
    assert http_status(f"{local_stack.url}/readyz") == 200
    for index in range(local_stack.ports.api_instances):
        assert http_status(f"{local_stack.api_url(index)}/readyz") == 200


def test_services_json_lists_the_app_processes(local_stack: LocalStack) -> None:
    listing = json.loads((local_stack.workdir / "services.json").read_text())["services"]
    by_name = {entry["name"]: entry for entry in listing}
    assert by_name["nginx"]["port"] == local_stack.ports.http
    assert by_name["api-0"]["port"] == local_stack.ports.api(0)
    assert by_name["api-1"]["port"] == local_stack.ports.api(1)
    for name in ("nginx", "api-0", "api-1", "worker"):
        assert pid_alive(by_name[name]["pid"]), name


def test_rolling_restart_of_an_instance_fails_no_request(local_stack: LocalStack) -> None:
    with _load(f"{local_stack.url}/healthz") as counts:
        time.sleep(0.3)
        _assert_graceful(local_stack, 1, local_stack.rolling_restart_api(1))
        time.sleep(0.3)
    assert counts[200] > 0
    assert set(counts) == {200}, counts


def test_sigterm_without_draining_is_absorbed_by_retries_for_gets(local_stack: LocalStack) -> None:
    # nginx retries a refused connection on the other instance (proxy_next_upstream error).
    with _load(f"{local_stack.url}/healthz") as counts:
        time.sleep(0.3)
        _assert_graceful(local_stack, 0, local_stack.stop_api(0))
        time.sleep(0.5)
        local_stack.start_api(0)
        time.sleep(0.3)
    assert counts[200] > 0
    assert set(counts) == {200}, counts


def test_worker_can_be_killed_and_restarted(local_stack: LocalStack) -> None:
    old = next(e["pid"] for e in local_stack.services() if e["name"] == "worker")
    assert local_stack.kill_worker() == -signal.SIGKILL
    assert not pid_alive(old)
    local_stack.start_worker()
    new = next(e["pid"] for e in local_stack.services() if e["name"] == "worker")
    assert new != old
    assert pid_alive(new)
