"""The tenant map: which shard holds each tenant, and how the app reaches each shard.

One plain, versioned JSON structure serves both worlds. The Pulumi program builds it from stack config and
the shards' endpoints and exports it (and hands it to the cluster's ConfigMap); the local run builds it from
the same stack file with loopback endpoints. Pure: no Pulumi import, and plain inputs (no config model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

TENANT_MAP_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host and port."""

    host: str
    port: int

    def to_json(self) -> dict[str, Any]:
        """As it appears in the tenant map."""
        return {"host": self.host, "port": int(self.port)}


@dataclass(frozen=True, slots=True)
class ShardEndpoints:
    """How the app reaches one shard."""

    writer: Endpoint
    """The pooler in front of the primary (RDS Proxy in AWS, PgBouncer locally)."""
    readers: Sequence[Endpoint]
    """The replicas, or the primary itself when the shard has none."""
    database: str
    """Database name as seen through the writer endpoint."""
    reader_database: str
    """Database name on the readers."""
    username: str
    """The app role (the API and the worker)."""
    secret_arn: str | None = None
    owner_username: str | None = None
    """The schema owner, as which the migrations run; None: they run as `username`."""


def password_env(shard_id: str) -> str:
    """Environment variable that carries a shard's database password to the app."""
    return "NEXUS_DB_PASSWORD_" + shard_id.upper().replace("-", "_")


def owner_password_env(shard_id: str) -> str:
    """Environment variable that carries a shard's owner password to the migrations only."""
    return "NEXUS_DB_OWNER_PASSWORD_" + shard_id.upper().replace("-", "_")


def build_tenant_map(
    *,
    tenants: Mapping[str, str],
    default_shard: str | None,
    endpoints: Mapping[str, ShardEndpoints],
) -> dict[str, Any]:
    """The tenant map: ``tenants`` maps tenant id to shard id, ``endpoints`` covers every shard.

    Every shard a tenant (or the default) names must have endpoints; a shard with no tenant is allowed (it
    is being filled or emptied).
    """
    named = set(tenants.values()) | ({default_shard} if default_shard else set())
    missing = sorted(named - set(endpoints))
    if missing:
        raise ValueError(f"endpoints do not match the shards: missing {missing}")
    shards: dict[str, Any] = {}
    for shard_id in sorted(endpoints):
        shard = endpoints[shard_id]
        if not shard.readers:
            raise ValueError(
                f"shard {shard_id!r} has no reader endpoint; pass the primary when it has no replica"
            )
        shards[shard_id] = {
            "writer": shard.writer.to_json(),
            "readers": [reader.to_json() for reader in shard.readers],
            "database": shard.database,
            "readerDatabase": shard.reader_database,
            "username": shard.username,
            "passwordEnv": password_env(shard_id),
            "secretArn": shard.secret_arn,
        }
        if shard.owner_username is not None:
            shards[shard_id] |= {
                "ownerUsername": shard.owner_username,
                "ownerPasswordEnv": owner_password_env(shard_id),
            }
    return {
        "version": TENANT_MAP_VERSION,
        "defaultShard": default_shard,
        "tenants": dict(sorted(tenants.items())),
        "shards": shards,
    }
