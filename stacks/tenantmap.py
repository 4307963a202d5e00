"""The tenant map: which shard holds each tenant, and how the app reaches each shard.

One plain, versioned JSON structure serves both worlds. The Pulumi program builds it from stack config and
the shards' endpoints and exports it (and hands it to the cluster's ConfigMap); the local run builds it from
the same stack file with loopback endpoints. Pure: no Pulumi import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from stacks.config.model import StackConfig

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
    secret_arn: str | None = None


def password_env(shard_id: str) -> str:
    """Environment variable that carries a shard's database password to the app."""
    return "NEXUS_DB_PASSWORD_" + shard_id.upper().replace("-", "_")


def build_tenant_map(config: StackConfig, endpoints: Mapping[str, ShardEndpoints]) -> dict[str, Any]:
    """The tenant map for ``config``'s shards; ``endpoints`` must cover exactly those shards."""
    if set(endpoints) != set(config.shards):
        missing = sorted(set(config.shards) - set(endpoints))
        extra = sorted(set(endpoints) - set(config.shards))
        raise ValueError(f"endpoints do not match the shards: missing {missing}, unexpected {extra}")
    shards: dict[str, Any] = {}
    for shard_id in sorted(config.shards):
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
    return {
        "version": TENANT_MAP_VERSION,
        "defaultShard": config.default_shard,
        "tenants": dict(sorted(config.tenant_shards().items())),
        "shards": shards,
    }
