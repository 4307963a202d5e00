"""Composition of the tenant shards: one TenantShard per ``nexus:shards`` entry, and the tenant map over them.

Kept out of ``stacks/program.py`` so that the program stays a short list of components. Every shard is
built from its own config entry only, so adding a shard or a tenant changes no existing resource's name or
inputs; the tenant map is the one value that changes (it is built from config and the shards' outputs inside
an ``apply`` that creates no resource).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.alarms import AlarmTarget
from infra.database import TenantShard, TenantShardArgs
from infra.k8s.tenantmap import Endpoint, ShardEndpoints, build_tenant_map
from stacks.config.model import Shard, StackConfig


def shard_args(
    config: StackConfig,
    shard: Shard,
    *,
    vpc_id: pulumi.Input[str],
    isolated_subnet_ids: pulumi.Input[list[str]],
    workload_security_group_id: pulumi.Input[str],
    alarms: AlarmTarget | None = None,
    log_kms_key_arn: pulumi.Input[str] | None = None,
    storage_kms_key_arn: pulumi.Input[str] | None = None,
) -> TenantShardArgs:
    """The component's inputs for one shard: its resolved settings plus the network's outputs, and from the
    hardening (stacks/hardening.py) where its alarms go and which keys encrypt its logs and storage."""
    settings = shard.settings
    return TenantShardArgs(
        shard_id=shard.id,
        instance_class=settings.instance_class,
        replica_instance_class=shard.replica_instance_class,
        read_replicas=settings.read_replicas,
        allocated_storage=settings.allocated_storage,
        max_allocated_storage=settings.max_allocated_storage,
        multi_az=settings.multi_az,
        backup_retention_days=settings.backup_retention_days,
        engine_version=settings.engine_version,
        database_name=settings.database_name,
        master_username=settings.master_username,
        # Wherever the class supports it; the component decides per instance (primary and replicas).
        performance_insights=True,
        proxy_max_connections_percent=settings.proxy.max_connections_percent,
        proxy_max_idle_connections_percent=settings.proxy.max_idle_connections_percent,
        proxy_connection_borrow_timeout=settings.proxy.connection_borrow_timeout,
        proxy_idle_client_timeout=settings.proxy.idle_client_timeout,
        protect=config.is_prod,
        region=config.region,
        vpc_id=vpc_id,
        isolated_subnet_ids=isolated_subnet_ids,
        workload_security_group_id=workload_security_group_id,
        log_retention_days=config.logs.retention_days,
        log_kms_key_arn=log_kms_key_arn,
        monitoring_interval=config.logs.enhanced_monitoring_seconds,
        storage_kms_key_arn=storage_kms_key_arn,
        alarms=alarms,
    )


def shard_component_name(config: StackConfig, shard_id: str) -> str:
    """Logical name of a shard's component: the stable shard id under the stack's prefix."""
    return f"{config.name_prefix}-{shard_id}"


def build_shards(
    config: StackConfig,
    *,
    vpc_id: pulumi.Input[str],
    isolated_subnet_ids: pulumi.Input[list[str]],
    workload_security_group_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    alarms: AlarmTarget | None = None,
    log_kms_key_arn: pulumi.Input[str] | None = None,
    storage_kms_key_arn: pulumi.Input[str] | None = None,
) -> dict[str, TenantShard]:
    """One TenantShard per configured shard, keyed by shard id."""
    return {
        shard_id: TenantShard(
            shard_component_name(config, shard_id),
            shard_args(
                config,
                config.shards[shard_id],
                vpc_id=vpc_id,
                isolated_subnet_ids=isolated_subnet_ids,
                workload_security_group_id=workload_security_group_id,
                alarms=alarms,
                log_kms_key_arn=log_kms_key_arn,
                storage_kms_key_arn=storage_kms_key_arn,
            ),
            opts=opts,
        )
        for shard_id in sorted(config.shards)
    }


def _endpoints(shard: TenantShard) -> pulumi.Output[ShardEndpoints]:
    def make(values: list[Any]) -> ShardEndpoints:
        writer, readers, secret_arn = values
        return ShardEndpoints(
            writer=Endpoint(writer, shard.port),
            readers=[Endpoint(host, shard.port) for host in readers],
            database=shard.database_name,
            # In AWS the replicas are physical copies of the primary: the same database name on both paths.
            reader_database=shard.database_name,
            # The API and the worker log in as the app role; the migrations as the master user, the owner.
            username=shard.app_username,
            secret_arn=secret_arn,
            owner_username=shard.master_username,
        )

    return pulumi.Output.all(shard.writer_endpoint, shard.reader_endpoints, shard.app_secret_arn).apply(make)


def tenant_map_output(
    config: StackConfig, shards: Mapping[str, TenantShard]
) -> pulumi.Output[dict[str, Any]]:
    """The tenant map (infra.k8s.tenantmap) over the shards' resolved endpoints."""
    ids = sorted(shards)
    endpoints = pulumi.Output.all(*[_endpoints(shards[shard_id]) for shard_id in ids])
    return endpoints.apply(
        lambda resolved: build_tenant_map(
            tenants=config.tenant_shards(),
            default_shard=config.default_shard,
            endpoints=dict(zip(ids, resolved, strict=True)),
        )
    )


def shards_output(shards: Mapping[str, TenantShard]) -> dict[str, Any]:
    """The ``shards`` stack output: per shard, what an operator needs to reach it (no password)."""
    return {
        shard_id: {
            "writer": shard.writer_endpoint,
            "readers": shard.reader_endpoints,
            "port": shard.port,
            "database": shard.database_name,
            "username": shard.master_username,
            "secretArn": shard.secret_arn,
            "appUsername": shard.app_username,
            "appSecretArn": shard.app_secret_arn,
            "primaryIdentifier": shard.primary_identifier,
        }
        for shard_id, shard in sorted(shards.items())
    }
