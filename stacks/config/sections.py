"""The typed sections of stack config. One model per ``nexus:<key>``; field docs are the key docs."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from infra.catalog import RDS_INSTANCE_CLASSES, SUPPORTED_POSTGRES_MAJORS
from infra.eks.zones import AZ_ID_PATTERN, EKS_UNSUPPORTED_ZONE_IDS
from stacks.config.base import ConfigModel
from stacks.config.images import parse_image_reference

SHARD_ID_PATTERN = r"^[a-z][a-z0-9-]{0,29}[a-z0-9]$"
TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
SHARD_ID_RE = re.compile(SHARD_ID_PATTERN)
KEY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,30}$"

TenantId = Annotated[str, StringConstraints(pattern=TENANT_ID_PATTERN)]
Environment = Literal["dev", "staging", "prod"]


def field_error(field_alias: str, message: str) -> PydanticCustomError:
    """An error for one field, raised from a model-level validator; the formatter appends the field."""
    return PydanticCustomError("field_error", message, {"field": field_alias})


def check_min_max(low_name: str, low: int, high_name: str, high: int) -> None:
    """min <= max, reported on the min key."""
    if low > high:
        raise field_error(low_name, f"{low_name} ({low}) must not exceed {high_name} ({high})")


class NetworkConfig(ConfigModel):
    """``nexus:network``: the VPC."""

    cidr: str = "10.0.0.0/16"
    """VPC CIDR, /16 to /23 (subnets are carved from it by infra.subnets.plan_subnets)."""
    az_count: int = Field(default=2, ge=2, le=6)
    """Availability zones to span (EKS and Multi-AZ RDS need at least 2)."""
    nat_gateways: Literal["none", "single", "perAz"] = "single"
    """NAT for the private subnets: none, one shared, or one per AZ (prod)."""
    flow_logs: bool = False
    """VPC flow logs to CloudWatch Logs."""
    flow_log_retention_days: int = Field(default=30, ge=1, le=3653)
    """Retention of the flow log group, in days."""
    zone_ids: list[Annotated[str, StringConstraints(pattern=AZ_ID_PATTERN)]] | None = None
    """AZ ids to use (e.g. [use1-az1, use1-az2]), one per AZ index, azCount of them; default: the region's
    first usable Availability Zone ids in sorted order (never a Local Zone, never one EKS refuses)."""

    @field_validator("zone_ids")
    @classmethod
    def _usable_zone_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if len(set(value)) != len(value):
            raise PydanticCustomError("zone_ids", "zone ids repeat: {value}; each AZ once", {"value": value})
        refused = sorted(set(value) & EKS_UNSUPPORTED_ZONE_IDS)
        if refused:
            raise PydanticCustomError(
                "zone_ids",
                "{refused}: EKS cannot place the cluster's control-plane interfaces there "
                "(UnsupportedAvailabilityZoneException; EKS user guide, network-reqs.html); pick other ids",
                {"refused": ", ".join(refused)},
            )
        return value

    @model_validator(mode="after")
    def _one_zone_per_az(self) -> NetworkConfig:
        if self.zone_ids is not None and len(self.zone_ids) != self.az_count:
            raise field_error(
                "zoneIds",
                f"{len(self.zone_ids)} zone ids for azCount {self.az_count}; list exactly azCount ids (or "
                f"set azCount to {len(self.zone_ids)})",
            )
        return self


class ProxyPoolConfig(ConfigModel):
    """RDS Proxy connection pool settings of one shard."""

    max_connections_percent: int = Field(default=90, ge=1, le=100)
    """Share of the primary's max_connections the proxy may open."""
    max_idle_connections_percent: int = Field(default=50, ge=0, le=100)
    """Share of max_connections the proxy keeps idle."""
    connection_borrow_timeout: int = Field(default=120, ge=0, le=3600)
    """Seconds a client waits for a pooled connection before an error."""
    idle_client_timeout: int = Field(default=1800, ge=1, le=28800)
    """Seconds before the proxy drops an idle client connection."""

    @model_validator(mode="after")
    def _idle_within_max(self) -> ProxyPoolConfig:
        check_min_max(
            "maxIdleConnectionsPercent",
            self.max_idle_connections_percent,
            "maxConnectionsPercent",
            self.max_connections_percent,
        )
        return self


class ShardSettings(ConfigModel):
    """Database settings of a shard: ``nexus:shardDefaults``, overridden per shard in ``nexus:shards``."""

    instance_class: str = "db.t4g.medium"
    """RDS instance class of the primary."""
    replica_instance_class: str | None = None
    """RDS instance class of the replicas (default: the primary's)."""
    read_replicas: int = Field(default=1, ge=0, le=15)
    """Number of read replicas (RDS allows up to 15 per source)."""
    allocated_storage: int = Field(default=20, ge=20, le=65536)
    """Initial gp3 storage, GiB."""
    max_allocated_storage: int = Field(default=100, ge=20, le=65536)
    """Storage autoscaling ceiling, GiB."""
    multi_az: bool = False
    """Multi-AZ standby for the primary."""
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    """Automated backup retention (replicas need at least 1)."""
    engine_version: str = "16"
    """PostgreSQL major version; minor versions upgrade automatically."""
    database_name: str = Field(default="nexus", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    """Database created on the primary."""
    master_username: str = Field(default="nexus_admin", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    """Master user of the instance (its password is generated)."""
    proxy: ProxyPoolConfig = ProxyPoolConfig()
    """RDS Proxy pool settings (replaced as a whole when a shard sets it)."""

    @field_validator("instance_class", "replica_instance_class")
    @classmethod
    def _known_class(cls, value: str | None) -> str | None:
        if value is not None and value not in RDS_INSTANCE_CLASSES:
            families = sorted({name.rsplit(".", 1)[0] for name in RDS_INSTANCE_CLASSES})
            raise PydanticCustomError(
                "unknown_class",
                "unknown RDS instance class '{value}'; use one of the families {families} with a size "
                "such as large or xlarge (see infra/catalog.py)",
                {"value": value, "families": ", ".join(families)},
            )
        return value

    @field_validator("engine_version")
    @classmethod
    def _major_only(cls, value: str) -> str:
        if value not in SUPPORTED_POSTGRES_MAJORS:
            raise PydanticCustomError(
                "engine_version",
                "engine version '{value}' is not a supported PostgreSQL major version; use one of {valid} "
                "(pin the major only, or minor auto-upgrades make later runs try to downgrade)",
                {"value": value, "valid": ", ".join(SUPPORTED_POSTGRES_MAJORS)},
            )
        return value

    @model_validator(mode="after")
    def _storage_within_max(self) -> ShardSettings:
        check_min_max(
            "allocatedStorage", self.allocated_storage, "maxAllocatedStorage", self.max_allocated_storage
        )
        return self


class ApiConfig(ConfigModel):
    """``nexus:api``: the API Deployment and its HPA."""

    image: str = "nexus-api:latest"
    """Container image of the API and worker (CI sets a digest): ``[registry/]repository[:tag][@digest]``."""
    min_replicas: int = Field(default=2, ge=1, le=1000)
    """HPA minimum."""
    max_replicas: int = Field(default=10, ge=1, le=1000)
    """HPA maximum."""
    cpu: int = Field(default=1000, ge=100, le=64000)
    """CPU request per pod, millicores; one worker process per whole CPU (at least one)."""
    cpu_limit: int | None = Field(default=None, ge=100, le=64000)
    """CPU limit per pod, millicores (default: none, so bursts are not throttled)."""
    memory_mib: int = Field(default=512, ge=64, le=262144)
    """Memory request and limit per pod, MiB."""
    target_cpu_utilization: int = Field(default=70, ge=10, le=100)
    """HPA CPU target, percent of the request."""
    db_pool_size: int = Field(default=5, ge=1, le=100)
    """Connections per worker process, per shard, per role (writer and each reader)."""

    @field_validator("image")
    @classmethod
    def _image_is_a_reference(cls, value: str) -> str:
        try:
            parse_image_reference(value)
        except ValueError as exc:
            raise PydanticCustomError("image_reference", "{problem}", {"problem": str(exc)}) from None
        return value

    jwt_key_ids: list[Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]] = Field(
        default=["k1"], min_length=1, max_length=4
    )
    """JWT signing key ids; each gets a generated key, all of them verify (two during a rotation)."""
    jwt_active_key_id: str | None = None
    """The key id that signs new tokens (default: the first of jwtKeyIds)."""

    @model_validator(mode="after")
    def _bounds(self) -> ApiConfig:
        check_min_max("minReplicas", self.min_replicas, "maxReplicas", self.max_replicas)
        if self.cpu_limit is not None:
            check_min_max("cpu", self.cpu, "cpuLimit", self.cpu_limit)
        if len(set(self.jwt_key_ids)) != len(self.jwt_key_ids):
            raise field_error("jwtKeyIds", f"key ids {self.jwt_key_ids} repeat one; each key id appears once")
        if self.jwt_active_key_id is not None and self.jwt_active_key_id not in self.jwt_key_ids:
            raise field_error(
                "jwtActiveKeyId",
                f"{self.jwt_active_key_id!r} is not one of jwtKeyIds {self.jwt_key_ids}; add it there first",
            )
        return self

    @property
    def active_key_id(self) -> str:
        """The JWT key id that signs new tokens."""
        return self.jwt_active_key_id or self.jwt_key_ids[0]

    @property
    def worker_processes(self) -> int:
        """Worker processes per pod: one per whole CPU requested, at least one."""
        return max(1, self.cpu // 1000)


def is_dns_safe_shard_id(value: str) -> bool:
    """Whether a shard id is DNS-safe (lowercase letters, digits, hyphens; 2-31 chars)."""
    return SHARD_ID_RE.fullmatch(value) is not None
