"""Composition of the workloads: the API and the worker on the cluster, wired to the shards, the data services
and the ALB.

Kept out of ``stacks/program.py`` so that the program stays a short list of components: this module turns
``nexus:api``, ``nexus:worker`` and the ALB's settings into the Workloads component's args.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.cache import REDIS_PORT
from infra.database import POSTGRES_PORT, TenantShard
from infra.workloads import ApiSpec, WorkerSpec, Workloads, WorkloadsArgs
from stacks.compute import Compute
from stacks.config.model import StackConfig
from stacks.config.sections import ApiConfig
from stacks.config.worker import WorkerConfig
from stacks.datastores import DataStores


def api_spec(api: ApiConfig) -> ApiSpec:
    """``nexus:api`` as the Workloads component's plain spec."""
    return ApiSpec(
        image=api.image,
        min_replicas=api.min_replicas,
        max_replicas=api.max_replicas,
        cpu=api.cpu,
        cpu_limit=api.cpu_limit,
        memory_mib=api.memory_mib,
        target_cpu_utilization=api.target_cpu_utilization,
        worker_processes=api.worker_processes,
        db_pool_size=api.db_pool_size,
        jwt_key_ids=tuple(api.jwt_key_ids),
        active_key_id=api.active_key_id,
    )


def worker_spec(worker: WorkerConfig) -> WorkerSpec:
    """``nexus:worker`` as the Workloads component's plain spec."""
    return WorkerSpec(
        min_replicas=worker.min_replicas,
        max_replicas=worker.max_replicas,
        cpu=worker.cpu,
        cpu_limit=worker.cpu_limit,
        memory_mib=worker.memory_mib,
        target_cpu_utilization=worker.target_cpu_utilization,
        concurrency=worker.concurrency,
    )


def build_workloads(
    config: StackConfig,
    *,
    compute: Compute,
    datastores: DataStores,
    shards: Mapping[str, TenantShard],
    tenant_map: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
) -> Workloads:
    """The Workloads component on the stack's cluster; ``opts`` carries the explicit AWS provider."""
    return Workloads(
        f"{config.name_prefix}-workloads",
        WorkloadsArgs(
            stack=config.stack,
            environment=config.environment,
            region=config.region,
            api=api_spec(config.api),
            worker=worker_spec(config.worker),
            container_port=config.alb.target_port,
            deregistration_delay_seconds=config.alb.deregistration_delay_seconds,
            alb_idle_timeout_seconds=config.alb.idle_timeout,
            kubernetes_provider=compute.cluster.k8s_provider,
            cluster_name=compute.cluster.cluster_name,
            tenant_map=tenant_map,
            # The API and the worker get the app role's password; only the migration Job the owner's.
            db_passwords={shard_id: shard.app_password for shard_id, shard in sorted(shards.items())},
            db_owner_passwords={shard_id: shard.password for shard_id, shard in sorted(shards.items())},
            redis_url=datastores.cache.redis_url,
            bucket_name=datastores.uploads.bucket_name,
            api_policy_json=datastores.api_policy,
            worker_policy_json=datastores.worker_policy,
            target_group_arn=compute.alb.target_group_arn,
            vpc_cidr=config.network.cidr,
            postgres_port=POSTGRES_PORT,
            redis_port=REDIS_PORT,
            depends_on=compute.workloads_ready,
        ),
        opts=opts,
    )
