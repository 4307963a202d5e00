"""Shared builders for the app's unit tests: a valid environment and tenant map, no services."""

from __future__ import annotations

import json
from typing import Any

import pytest


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
