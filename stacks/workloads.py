"""Composition of the workloads: the API and the worker on the cluster, wired to the shards, the data services
and the ALB.

Kept out of ``stacks/program.py`` so that the program stays a short list of components: this module turns
``nexus:api``, ``nexus:worker`` and the ALB's settings into the Workloads component's args.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.database import TenantShard
from infra.workloads import Workloads, WorkloadsArgs
from stacks.compute import Compute
from stacks.config.model import StackConfig
from stacks.datastores import DataStores


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
            api=config.api,
            worker=config.worker,
            container_port=config.alb.target_port,
            deregistration_delay_seconds=config.alb.deregistration_delay_seconds,
            kubernetes_provider=compute.cluster.k8s_provider,
            cluster_name=compute.cluster.cluster_name,
            tenant_map=tenant_map,
            db_passwords={shard_id: shard.password for shard_id, shard in sorted(shards.items())},
            redis_url=datastores.cache.redis_url,
            bucket_name=datastores.uploads.bucket_name,
            api_policy_json=datastores.api_policy,
            worker_policy_json=datastores.worker_policy,
            target_group_arn=compute.alb.target_group_arn,
            depends_on=compute.workloads_ready,
        ),
        opts=opts,
    )
