"""Helpers of the app's tests (plain functions; the fixtures live in conftest.py and tests/support/).

A module of its own, with a name no other test folder uses, so that test modules can import it whichever
folders one pytest run collects (every folder has a `conftest` module).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.clients import User
from tests.support.waiting import wait_until

_REPO = Path(__file__).resolve().parents[2]


def tenant_map_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "defaultShard": "shard-a",
        "tenants": {"acme": "shard-a", "globex": "shard-b"},
        "shards": {
            sid: {
                "writer": {"host": "127.0.0.1", "port": 6432},
                "readers": [{"host": "127.0.0.1", "port": port}],
                "database": f"nexus_{sid.replace('-', '_')}",
                "readerDatabase": "nexus",
                "username": "nexus_app",
                "passwordEnv": f"NEXUS_DB_PASSWORD_{sid.upper().replace('-', '_')}",
                "secretArn": None,
            }
            for sid, port in (("shard-a", 25433), ("shard-b", 25434))
        },
    }
    doc.update(overrides)
    return doc


def create_document(api: httpx.Client, user: User, title: str = "t", body: str = "b") -> dict[str, Any]:
    response = api.post("/v1/documents", json={"title": title, "body": body}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Procs:
    def __init__(self, workdir: Path, cwd: Path) -> None:
        self.workdir = workdir
        self.cwd = cwd
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        log.close()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def http_status(url: str) -> int:
    """The status of a GET, or 0 while nothing answers."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


@contextlib.contextmanager
def api_with_tenant_map(local_stack: Any, tenant_map: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """One API instance (one worker) of the local stack's settings that reads ``tenant_map`` instead of the
    stack's own; yields its base URL once /healthz answers, and stops it afterwards."""
    map_file = tmp_path / "tenant-map.json"
    map_file.write_text(json.dumps(tenant_map))
    port = free_port()
    env = dict(os.environ) | local_stack.app_env
    env |= {"NEXUS_TENANT_MAP_FILE": str(map_file), "NEXUS_PORT": str(port), "NEXUS_WORKERS": "1"}
    env |= {"PYTHONPATH": str(_REPO)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    procs = Procs(tmp_path, _REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        procs.start("api", [sys.executable, "-m", "app.serve"], env)
        wait_until(lambda: http_status(f"{base}/healthz") == 200, timeout=30, what="the API")
        yield base
    finally:
        procs.stop_all()
