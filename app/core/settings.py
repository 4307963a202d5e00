"""Settings from the environment, split per concern and built once by `get_settings()`.

Nothing here runs at import: tests build `Settings` objects directly, or clear the cache.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import msgspec
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.dbtls import verifying_context
from app.core.tenantmap import TenantMap, parse_tenant_map

# Secrets that ship in examples and the local stack; refused when NEXUS_ENV=production.
_PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "insecure", "dev-only", "local-")
_MIN_JWT_KEY_BYTES = 32
SectionT = TypeVar("SectionT", bound=BaseSettings)


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return not value or any(marker in lowered for marker in _PLACEHOLDER_MARKERS)


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_DB_", extra="ignore", frozen=True)

    pool_max: int = Field(10, ge=1, le=200, description="connections per process, per shard, per role")
    ssl: Literal["disable", "verify-full"] = Field(
        "disable", description="verify-full: TLS, the chain checked against ca_bundle and the host name"
    )
    ca_bundle: Path | None = Field(
        None, description="PEM file of the CAs that database certificates chain to"
    )
    connect_timeout_seconds: float = Field(2.0, gt=0)
    command_timeout_seconds: float = Field(5.0, gt=0)
    acquire_timeout_seconds: float = Field(
        0.75,
        gt=0,
        description="longest wait for a transaction to begin (checkout, connect, first round trip); a read "
        "whose replica fails in that time tries the writer with the same bound, so at most twice this",
    )
    queue_timeout_seconds: float = Field(
        4.0,
        gt=0,
        description="longest wait for a transaction to begin while the pool's other requests are being "
        "answered (a queue that moves); no answer from the pool for acquire_timeout_seconds still ends it. "
        "Never shorter than acquire_timeout_seconds; equal to it, a queue waits as long as a silent server",
    )
    replica_retry_seconds: float = Field(5.0, gt=0, description="how long a failed replica is skipped")
    confirm_timeout_seconds: float = Field(
        2.0,
        gt=0,
        description="after a timeout, how long a check on a connection of its own (connect, SELECT 1) may "
        "take before the shard's breaker opens or the replica is marked down; a slower pooler is busy",
    )
    shard_probe_interval_seconds: float = Field(
        0.5, gt=0, description="while a shard's writer is down, how often it is probed"
    )

    @model_validator(mode="after")
    def _bundle_loads(self) -> DatabaseSettings:
        if self.ssl == "verify-full":
            if self.ca_bundle is None:
                raise ValueError("NEXUS_DB_SSL=verify-full needs NEXUS_DB_CA_BUNDLE (a PEM file of CAs)")
            verifying_context(self.ca_bundle)  # fails at start, naming the file, not at the first query
        return self


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_REDIS_", extra="ignore", frozen=True)

    url: str = "redis://127.0.0.1:6379/0"
    timeout_seconds: float = Field(0.5, gt=0, description="connect and command timeout")
    down_backoff_seconds: float = Field(1.0, ge=0, description="skip the cache this long after an error")


class CacheSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_CACHE_", extra="ignore", frozen=True)

    enabled: bool = True
    ttl_seconds: int = Field(300, ge=1)


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_S3_", extra="ignore", frozen=True)

    bucket: str = "nexus-local"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    presign_seconds: int = Field(300, ge=1, le=3600)
    timeout_seconds: float = Field(5.0, gt=0)


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_JWT_", extra="ignore", frozen=True)

    keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev": SecretStr("dev-only-insecure-signing-key-0123456789abcdef")}
    )
    active_kid: str = "dev"
    issuer: str = "nexus-api"
    audience: str = "nexus-clients"
    ttl_seconds: int = Field(900, ge=30, le=86400)

    @model_validator(mode="after")
    def _active_key_exists(self) -> AuthSettings:
        if self.active_kid not in self.keys:
            raise ValueError(f"NEXUS_JWT_ACTIVE_KID={self.active_kid!r} is not a key of NEXUS_JWT_KEYS")
        return self


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    worker_concurrency: int = Field(8, ge=1, le=256, description="jobs one queue worker runs at once")
    job_timeout_seconds: int = Field(
        300,
        ge=5,
        le=3600,
        description="longest run of one queue job; a job whose worker died is retried this long + 10 s later",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1)
    access_log: Literal["all", "errors", "off"] = Field(
        "errors",
        description="which requests get a JSON access line: `errors` (status >= 400, the default: the load "
        "balancer logs every request), `all`, or `off`; `true`/`false` are read as `all`/`off`",
    )
    fast_path: bool = Field(
        True,
        description="serve GET /v1/documents/{id} and /healthz by the raw ASGI path (app/fastpath.py); "
        "false routes them through Starlette like every other route (same responses)",
    )
    keep_alive_seconds: int = Field(
        5,
        ge=1,
        le=4100,
        description="how long an idle HTTP connection stays open; above the load balancer's idle timeout, "
        "so that the load balancer, never the API, closes an idle connection (no request meets a closing "
        "socket)",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="comma-separated addresses or CIDRs whose X-Forwarded-For/-Proto are believed: the load "
        "balancer's (the VPC in AWS); a client elsewhere cannot choose the address logs and limits see",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        for entry in (part.strip() for part in value.split(",")):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f'NEXUS_FORWARDED_ALLOW_IPS: {entry!r} is not an address or a CIDR ("*" is refused: '
                    "any client could then set its own address)"
                ) from None
        return value

    @field_validator("access_log", mode="before")
    @classmethod
    def _access_log_booleans(cls, value: object) -> object:
        # The setting was a boolean before it had modes: keep what deployments already set meaning the same.
        lowered = str(value).strip().lower()
        if isinstance(value, bool) or lowered in {"true", "false", "1", "0"}:
            return "all" if lowered in {"true", "1"} else "off"
        return lowered

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseModel):
    """Everything the app and worker need, validated together."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    server: ServerSettings
    db: DatabaseSettings
    redis: RedisSettings
    cache: CacheSettings
    storage: StorageSettings
    auth: AuthSettings
    tenant_map: TenantMap
    db_passwords: dict[str, SecretStr]
    db_owner_passwords: dict[str, SecretStr] = {}
    """Only for the migrations (`owner=True`): the API and the worker never hold the owner's password."""
    signs_tokens: bool = True
    """False for the worker and the migrations: they never see a token, so their JWT keys are not checked."""

    @model_validator(mode="after")
    def _production_refuses_placeholders(self) -> Settings:
        if self.server.env != "production":
            return self
        problems = []
        for kid, key in self.auth.keys.items() if self.signs_tokens else ():
            secret = key.get_secret_value()
            if _is_placeholder(secret) or len(secret.encode()) < _MIN_JWT_KEY_BYTES:
                problems.append(f"NEXUS_JWT_KEYS[{kid}] is a placeholder or shorter than 32 bytes")
        for shard_id, password in self.db_passwords.items():
            if _is_placeholder(password.get_secret_value()):
                problems.append(f"the password of shard {shard_id} is a placeholder")
        for shard_id, password in self.db_owner_passwords.items():
            if _is_placeholder(password.get_secret_value()):
                problems.append(f"the owner password of shard {shard_id} is a placeholder")
        if self.db.ssl != "verify-full":
            problems.append("NEXUS_DB_SSL must be `verify-full` in production")
        if problems:
            raise ValueError("production settings refused: " + "; ".join(problems))
        return self


def load_tenant_map(environ: dict[str, str]) -> TenantMap:
    """The tenant map from NEXUS_TENANT_MAP_FILE (a path) or NEXUS_TENANT_MAP (the JSON)."""
    path = environ.get("NEXUS_TENANT_MAP_FILE")
    if path:
        return parse_tenant_map(Path(path).read_bytes())
    inline = environ.get("NEXUS_TENANT_MAP")
    if inline:
        return parse_tenant_map(inline)
    raise ValueError("set NEXUS_TENANT_MAP_FILE or NEXUS_TENANT_MAP")


def build_settings(
    environ: dict[str, str] | None = None, *, signs_tokens: bool = True, owner: bool = False
) -> Settings:
    """Build settings from an environment mapping (the process environment by default). `owner` (the
    migrations) also reads each shard's owner password, where the tenant map names an owner."""
    env = dict(os.environ if environ is None else environ)
    tmap = load_tenant_map(env)
    passwords = {}
    for shard_id, shard in tmap.shards.items():
        value = env.get(shard.password_env)
        if value is None:
            raise ValueError(f"{shard.password_env} is not set (password of shard {shard_id})")
        passwords[shard_id] = SecretStr(value)
    owner_passwords = {}
    for shard_id, shard in tmap.shards.items() if owner else ():
        if shard.owner_password_env is None:
            continue
        value = env.get(shard.owner_password_env)
        if value is None:
            raise ValueError(f"{shard.owner_password_env} is not set (owner password of shard {shard_id})")
        owner_passwords[shard_id] = SecretStr(value)

    return Settings(
        server=_section(ServerSettings, env),
        db=_section(DatabaseSettings, env),
        redis=_section(RedisSettings, env),
        cache=_section(CacheSettings, env),
        storage=_section(StorageSettings, env),
        auth=_section(AuthSettings, env),
        tenant_map=tmap,
        db_passwords=passwords,
        db_owner_passwords=owner_passwords,
        signs_tokens=signs_tokens,
    )


def _section(cls: type[SectionT], env: dict[str, str]) -> SectionT:
    """One settings section from `env`. pydantic-settings would read os.environ; an explicit mapping keeps
    tests free of environment hacks."""
    prefix = cls.model_config.get("env_prefix", "")
    values: dict[str, object] = {}
    for name in cls.model_fields:
        key = f"{prefix}{name}".upper()
        if key in env:
            values[name] = _decode_env(cls, name, env[key])
    return cls.model_validate(values)


def _decode_env(cls: type[BaseSettings], name: str, raw: str) -> object:
    # Complex fields (the JWT key set) arrive as JSON, as pydantic-settings itself would read them.
    annotation = str(cls.model_fields[name].annotation)
    if annotation.startswith("dict"):
        return msgspec.json.decode(raw)
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return build_settings()
