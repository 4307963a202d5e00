"""The whole stack's validated configuration, as the program and the local run see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stacks.config.alb import AlbConfig
from stacks.config.cache import CacheConfig
from stacks.config.cluster import ClusterConfig
from stacks.config.hardening import AlarmsConfig, LogsConfig, VpcEndpointsConfig, WafConfig
from stacks.config.sections import ApiConfig, Environment, NetworkConfig, ShardSettings
from stacks.config.storage import StorageConfig
from stacks.config.tenant_moves import TenantMove
from stacks.config.worker import WorkerConfig


@dataclass(frozen=True, slots=True)
class Shard:
    """One tenant shard: its stable id, its tenants and its resolved database settings."""

    id: str
    tenants: tuple[str, ...]
    settings: ShardSettings

    @property
    def replica_instance_class(self) -> str:
        """Instance class of the replicas (the primary's unless overridden)."""
        return self.settings.replica_instance_class or self.settings.instance_class


@dataclass(frozen=True, slots=True)
class StackConfig:
    """Everything the program reads from stack config, validated. Components receive parts of it."""

    project: str
    stack: str
    region: str
    environment: Environment
    network: NetworkConfig
    shards: Mapping[str, Shard]
    default_shard: str | None
    api: ApiConfig
    tags: Mapping[str, str] = field(default_factory=dict)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    alb: AlbConfig = field(default_factory=AlbConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    allow_unknown_types: bool = False
    waf: WafConfig = field(default_factory=WafConfig)
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    vpc_endpoints: VpcEndpointsConfig = field(default_factory=VpcEndpointsConfig)
    tenant_moves: Mapping[str, TenantMove] = field(default_factory=dict)
    """nexus:tenantMoves: tenant -> the move its shard change acknowledges (stacks/config/tenant_moves.py)."""

    @property
    def is_prod(self) -> bool:
        """Prod gets protect=True, deletion protection and the other safeguards."""
        return self.environment == "prod"

    @property
    def name_prefix(self) -> str:
        """Prefix of every logical name: ``nexus-<stack>``."""
        return f"nexus-{self.stack}"

    def tenant_shards(self) -> dict[str, str]:
        """tenant -> shard id."""
        return {tenant: shard.id for shard in self.shards.values() for tenant in shard.tenants}

    def base_tags(self) -> dict[str, str]:
        """Tags every taggable AWS resource carries."""
        return {
            **self.tags,
            "Project": self.project,
            "Environment": self.environment,
            "ManagedBy": "pulumi",
            "Stack": self.stack,
        }
