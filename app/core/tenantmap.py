"""The tenant map: which shard serves which tenant, and how to reach each shard.

The document is produced by the infrastructure (stack output `tenantMap`) or, locally, from
`Pulumi.dev.yaml` by the devstack. The app only reads it; validation here fails early with the key path.
"""

from __future__ import annotations

import re

import msgspec

SHARD_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}[a-z0-9]$")
TENANT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Endpoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str
    port: int


class Shard(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    writer: Endpoint
    readers: tuple[Endpoint, ...]
    database: str
    reader_database: str
    username: str
    """The app role: owns nothing, no superuser, no BYPASSRLS, DML only (what the API and worker use)."""
    password_env: str
    secret_arn: str | None = None
    owner_username: str | None = None
    """The owner of the shard's schema, as which the migrations run (absent: they run as `username`)."""
    owner_password_env: str | None = None


class TenantMap(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    version: int
    default_shard: str | None
    tenants: dict[str, str]
    shards: dict[str, Shard]

    def shard_of(self, tenant: str) -> str | None:
        """Shard id serving `tenant`, or None when the tenant is unknown (an in-memory lookup)."""
        return self.tenants.get(tenant)


class TenantMapError(ValueError):
    """The tenant map document is malformed; the message names the offending key."""


def password_env_for(shard_id: str) -> str:
    return "NEXUS_DB_PASSWORD_" + shard_id.upper().replace("-", "_")


def owner_password_env_for(shard_id: str) -> str:
    return "NEXUS_DB_OWNER_PASSWORD_" + shard_id.upper().replace("-", "_")


def parse_tenant_map(raw: bytes | str) -> TenantMap:
    """Decode and validate a tenant map document."""
    try:
        tmap = msgspec.json.decode(raw, type=TenantMap)
    except msgspec.ValidationError as exc:
        raise TenantMapError(f"tenant map: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise TenantMapError(f"tenant map is not valid JSON: {exc}") from exc
    _check(tmap)
    return tmap


def _check(tmap: TenantMap) -> None:
    if tmap.version != 1:
        raise TenantMapError(f"tenant map: `version` is {tmap.version}, only 1 is understood")
    if not tmap.shards:
        raise TenantMapError("tenant map: `shards` is empty, at least one shard is required")
    for shard_id, shard in tmap.shards.items():
        path = f"shards.{shard_id}"
        if not SHARD_ID_RE.match(shard_id):
            raise TenantMapError(f"tenant map: `{path}` is not a DNS-safe shard id")
        if shard.password_env != password_env_for(shard_id):
            raise TenantMapError(f"tenant map: `{path}.passwordEnv` must be {password_env_for(shard_id)!r}")
        if (shard.owner_username is None) != (shard.owner_password_env is None):
            raise TenantMapError(
                f"tenant map: `{path}` needs both ownerUsername and ownerPasswordEnv, or neither"
            )
        if shard.owner_password_env is not None and shard.owner_password_env != owner_password_env_for(
            shard_id
        ):
            raise TenantMapError(
                f"tenant map: `{path}.ownerPasswordEnv` must be {owner_password_env_for(shard_id)!r}"
            )
        if shard.owner_username is not None and shard.owner_username == shard.username:
            raise TenantMapError(
                f"tenant map: `{path}.ownerUsername` must differ from `username` (the app role)"
            )
        if not shard.readers:
            raise TenantMapError(f"tenant map: `{path}.readers` is empty (list the writer if no replica)")
        for i, ep in enumerate((shard.writer, *shard.readers)):
            if not 0 < ep.port < 65536:
                raise TenantMapError(f"tenant map: `{path}` endpoint {i} has port {ep.port}")
    for tenant, shard_id in tmap.tenants.items():
        if not TENANT_ID_RE.match(tenant):
            raise TenantMapError(f"tenant map: tenant id `{tenant}` is not valid (lowercase, digits, -)")
        if shard_id not in tmap.shards:
            raise TenantMapError(f"tenant map: `tenants.{tenant}` names unknown shard {shard_id!r}")
    if tmap.default_shard is not None and tmap.default_shard not in tmap.shards:
        raise TenantMapError(f"tenant map: `defaultShard` names unknown shard {tmap.default_shard!r}")
