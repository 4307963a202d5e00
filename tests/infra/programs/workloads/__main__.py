"""A program holding only the workloads component, with stand-ins for what the other components provide.

It runs under the offline engine like the real program (config from a stack file), so the workloads can be
tested on their own recorded inputs while the rest of the stack is still being composed.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi.runtime.config import get_config_env

from infra.workloads import Workloads, WorkloadsArgs
from stacks.config import load
from stacks.tenantmap import Endpoint, ShardEndpoints, build_tenant_map

cfg = load(dict(get_config_env()), stack=pulumi.get_stack(), project=pulumi.get_project())
aws_provider = aws.Provider("aws", region=cfg.region)
k8s_provider = k8s.Provider("k8s", kubeconfig=json.dumps({"apiVersion": "v1", "kind": "Config"}))

endpoints = {
    shard_id: ShardEndpoints(
        writer=Endpoint(f"{shard_id}.proxy.example.internal", 5432),
        readers=[Endpoint(f"{shard_id}-r{index}.db.example.internal", 5432) for index in range(2)],
        database="nexus",
        reader_database="nexus",
        username="nexus_app",
    )
    for shard_id in cfg.shards
}
passwords = {
    shard_id: random.RandomPassword(f"db-{shard_id}", length=32, special=False).result
    for shard_id in cfg.shards
}
workloads = Workloads(
    f"{cfg.name_prefix}-workloads",
    WorkloadsArgs(
        stack=cfg.stack,
        environment=cfg.environment,
        region=cfg.region,
        api=cfg.api,
        worker=cfg.worker,
        container_port=cfg.alb.target_port,
        deregistration_delay_seconds=cfg.alb.deregistration_delay_seconds,
        kubernetes_provider=k8s_provider,
        cluster_name=f"{cfg.name_prefix}-eks",
        tenant_map=build_tenant_map(cfg, endpoints),
        db_passwords=passwords,
        redis_url=pulumi.Output.secret("rediss://:stand-in-auth-token@cache.example.internal:6379/0"),
        bucket_name=f"{cfg.name_prefix}-uploads",
        api_policy_json=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/tenants/*"}
                ],
            }
        ),
        worker_policy_json=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/tenants/*"}
                ],
            }
        ),
        target_group_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nexus-api/0123456789abcdef",
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("migrationJob", workloads.migration_job_name)
