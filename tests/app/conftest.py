"""Fixtures of the app's tests: a valid environment for the unit tests, a Redis client of the local stack.

The API client, the user factory and the S3 client are shared with other folders: tests/support/fixtures.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from app_support import tenant_map_doc

from devstack import LocalStack


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


@pytest.fixture(scope="session")
def redis_client(local_stack: LocalStack) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(local_stack.redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def verify_full(tmp_path: Path) -> dict[str, str]:
    """NEXUS_DB_SSL=verify-full with a CA bundle that loads (a CA made for the test)."""
    from devstack.tls import make_ca

    ca_cert, _ = make_ca(tmp_path / "db-ca")
    return {"NEXUS_DB_SSL": "verify-full", "NEXUS_DB_CA_BUNDLE": str(ca_cert)}
