"""The app's side of the local stack: generated secrets, the tenant map and the environment (docs/app.md)."""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.postgres import APP_ROLE, OWNER_ROLE
from devstack.topology import PortPlan, Topology

S3_BUCKET = "nexus-uploads-local"
S3_REGION = "us-east-1"
JWT_KID = "local-1"
JWT_ISSUER = "nexus-local"
JWT_AUDIENCE = "nexus-api"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class LocalSecrets:
    """Passwords and keys of one work directory; kept in it so that a rerun matches the data on disk."""

    superuser_password: str
    owner_password: str
    """The schema owner's (the migrations' login; the master user's in AWS)."""
    app_password: str
    pgbouncer_admin_password: str
    jwt_secret: str

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSecrets:
        if path.exists():
            data = json.loads(path.read_text())
            if "owner_password" not in data:
                # A work dir from before the owner role: its databases belong to the app role. Start over
                # with `make clean`; the missing password is made here so that the error is a clear one.
                raise ValueError(f"{path} predates the owner role: run `make clean` (or --reset) first")
            return cls(**data)
        # URL-safe tokens need no quoting in SQL, userlists or DSNs.
        created = cls(
            superuser_password=secrets.token_urlsafe(18),
            owner_password=secrets.token_urlsafe(18),
            app_password=secrets.token_urlsafe(18),
            pgbouncer_admin_password=secrets.token_urlsafe(18),
            jwt_secret=secrets.token_urlsafe(48),
        )
        path.write_text(json.dumps(created.__dict__, indent=2) + "\n")
        path.chmod(0o600)
        return created


def local_tenant_map(topology: Topology, ports: PortPlan) -> dict[str, Any]:
    """The tenant map with loopback endpoints: writes through PgBouncer, reads on the replicas directly."""
    from infra.k8s.tenantmap import Endpoint, ShardEndpoints, build_tenant_map

    endpoints: dict[str, ShardEndpoints] = {}
    for shard in topology.shards:
        readers = [Endpoint("127.0.0.1", ports.replica(shard.id, j)) for j in range(shard.read_replicas)]
        endpoints[shard.id] = ShardEndpoints(
            writer=Endpoint("127.0.0.1", ports.pgbouncer),
            # A shard without replicas reads from its primary, as in the cloud stacks.
            readers=readers or [Endpoint("127.0.0.1", ports.primary(shard.id))],
            database=shard.alias,
            reader_database=shard.database,
            username=APP_ROLE,
            owner_username=OWNER_ROLE,
        )
    return build_tenant_map(
        tenants=topology.config.tenant_shards(),
        default_shard=topology.config.default_shard,
        endpoints=endpoints,
    )


def app_environment(
    *,
    topology: Topology,
    ports: PortPlan,
    secrets_: LocalSecrets,
    tenant_map_file: Path,
    ca_bundle: Path,
    api_workers: int,
    overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """The NEXUS_* environment of the API, the worker and the migrations (the contract in docs/app.md)."""
    from infra.k8s.tenantmap import password_env

    env = {
        "NEXUS_ENV": "development",
        "NEXUS_TENANT_MAP_FILE": str(tenant_map_file),
        # Every database connection is TLS, verified against the stack's own CA (the RDS bundle in AWS).
        "NEXUS_DB_SSL": "verify-full",
        "NEXUS_DB_CA_BUNDLE": str(ca_bundle),
        "NEXUS_DB_POOL_MAX": "10",
        "NEXUS_REDIS_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "NEXUS_S3_BUCKET": S3_BUCKET,
        "NEXUS_S3_REGION": S3_REGION,
        "NEXUS_S3_ENDPOINT_URL": f"http://127.0.0.1:{ports.s3}",
        # moto accepts any credentials; boto needs some to sign with.
        "AWS_ACCESS_KEY_ID": "devstack",
        "AWS_SECRET_ACCESS_KEY": "devstack",
        "AWS_DEFAULT_REGION": S3_REGION,
        "NEXUS_JWT_KEYS": json.dumps({JWT_KID: secrets_.jwt_secret}),
        "NEXUS_JWT_ACTIVE_KID": JWT_KID,
        "NEXUS_JWT_ISSUER": JWT_ISSUER,
        "NEXUS_JWT_AUDIENCE": JWT_AUDIENCE,
        "NEXUS_JWT_TTL_SECONDS": "900",
        "NEXUS_MAX_UPLOAD_BYTES": str(DEFAULT_MAX_UPLOAD_BYTES),
        "NEXUS_CACHE_ENABLED": "true",
        "NEXUS_CACHE_TTL_SECONDS": "60",
        "NEXUS_WORKERS": str(api_workers),
        "NEXUS_HOST": "127.0.0.1",
        "NEXUS_LOG_LEVEL": "info",
        # Locally no load balancer keeps access logs for the API (nginx's own log has no route or tenant):
        # every request gets its line. The API's default, `errors`, is for AWS, where the ALB logs them all.
        "NEXUS_ACCESS_LOG": "all",
    }
    # Every shard shares one local app password; the cloud stacks have one secret per shard.
    for shard in topology.shards:
        env[password_env(shard.id)] = secrets_.app_password
    env.update(overrides or {})
    return env


def migration_environment(topology: Topology, secrets_: LocalSecrets) -> dict[str, str]:
    """What only the migrations get on top of the app environment: the owner's password per shard (in AWS
    the migration Job's own Secret; the API and the worker never hold it)."""
    from infra.k8s.tenantmap import owner_password_env

    return {owner_password_env(shard.id): secrets_.owner_password for shard in topology.shards}


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """A shell-sourceable file (``set -a; . .local/app.env``) for running the app by hand."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    path.write_text(
        "# Written by devstack: the environment of the local API and worker.\n" + "\n".join(lines) + "\n"
    )
    path.chmod(0o600)
