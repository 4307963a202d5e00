"""Fixtures of the app's tests: a valid environment for the unit tests, clients of the real local stack."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
import redis
from app_support import User, tenant_map_doc


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
