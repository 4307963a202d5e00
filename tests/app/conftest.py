"""Shared builders for the app's unit tests: a valid environment and tenant map, no services."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis


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


@pytest.fixture
def app_environ() -> dict[str, str]:
    return {
        "NEXUS_TENANT_MAP": json.dumps(tenant_map_doc()),
        "NEXUS_DB_PASSWORD_SHARD_A": "pw-a",
        "NEXUS_DB_PASSWORD_SHARD_B": "pw-b",
        "NEXUS_JWT_KEYS": json.dumps({"k1": "a" * 40, "k2": "b" * 40}),
        "NEXUS_JWT_ACTIVE_KID": "k2",
        "NEXUS_JWT_ISSUER": "nexus-test",
        "NEXUS_JWT_AUDIENCE": "nexus-api",
    }


# ---------------------------------------------------------------- integration helpers (real local stack)


@dataclass
class User:
    tenant: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def api(local_stack: Any) -> Iterator[httpx.Client]:
    """The API as a client sees it: through nginx."""
    with httpx.Client(base_url=local_stack.url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def new_user(api: httpx.Client) -> Callable[[str], User]:
    """Register a fresh user in a tenant and log in."""

    def make(tenant: str) -> User:
        email = f"user-{secrets.token_hex(6)}@example.com"
        password = "correct horse " + secrets.token_hex(4)
        creds = {"tenant": tenant, "email": email, "password": password}
        registered = api.post("/v1/auth/register", json=creds)
        assert registered.status_code == 201, registered.text
        token = api.post("/v1/auth/token", json=creds)
        assert token.status_code == 200, token.text
        return User(tenant, email, password, token.json()["access_token"])

    return make


@pytest.fixture(scope="session")
def redis_client(local_stack: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(local_stack.redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture(scope="session")
def s3(local_stack: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=local_stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )


def create_document(api: httpx.Client, user: User, title: str = "t", body: str = "b") -> dict[str, Any]:
    response = api.post("/v1/documents", json={"title": title, "body": body}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


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
