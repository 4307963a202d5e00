"""The shared Redis-protocol store: one ElastiCache for Valkey replication group for cache and job queue.

Valkey, not Redis OSS: ElastiCache prices Valkey nodes below Redis OSS nodes of the same type, and Valkey
7.2+ speaks the same protocol and commands as Redis 7.2, so redis-py and the queue library use it unchanged.
The app and the local run use Redis 7: the app sticks to commands Redis 7.0 has, which every Valkey serves.

One group, ``maxmemory-policy noeviction`` (docs/cache-and-storage.md): the queue library keeps queued jobs
in keys that carry a TTL, so a volatile-* policy could evict a job that is still waiting. With noeviction a
full Redis refuses writes instead: the app treats a failed cache write as a miss, an enqueue failure is a
503, and a CloudWatch alarm on DatabaseMemoryUsagePercentage warns well before that point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_random as random

REDIS_PORT: Final = 6379
ENGINE: Final = "valkey"
# The parameter that keeps queued jobs: never evict, fail writes when full.
MAXMEMORY_POLICY: Final = "noeviction"
MEMORY_METRIC: Final = "DatabaseMemoryUsagePercentage"
# AUTH tokens: 16-128 printable characters. Letters and digits only, so the token can sit in a rediss:// URL
# without escaping; 64 of them carry ~380 bits.
AUTH_TOKEN_LENGTH: Final = 64


@dataclass(frozen=True, kw_only=True)
class CacheArgs:
    """Inputs of a Cache. Plain values for what the component branches on; Outputs for network ids."""

    vpc_id: pulumi.Input[str]
    """VPC of the security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the subnet group (the network's isolated tier: no internet route)."""
    workload_security_group_id: pulumi.Input[str]
    """The group the cluster's nodes and pods carry; the only source admitted on the Redis port."""
    engine_version: str
    """Valkey major.minor, e.g. 8.0."""
    parameter_group_family: str
    """ElastiCache parameter group family of that version, e.g. valkey8."""
    node_type: str
    """Node type, e.g. cache.r7g.large."""
    num_nodes: int
    """Primary plus replicas."""
    automatic_failover: bool
    """Promote a replica when the primary fails."""
    multi_az: bool
    """Spread the nodes over AZs (with automatic_failover)."""
    snapshot_retention_days: int
    """Daily snapshots kept (0: none)."""
    snapshot_window: str
    """Daily UTC snapshot window, hh:mm-hh:mm."""
    maintenance_window: str
    """Weekly UTC maintenance window, ddd:hh:mm-ddd:hh:mm."""
    auth_token_version: int
    """Generation of the AUTH token; a new value generates and rotates in a new token."""
    memory_alarm_percent: int
    """Alarm threshold of DatabaseMemoryUsagePercentage, per node."""
    alarm_actions: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """SNS topic ARNs notified by the memory alarms (none: the alarm is visible in CloudWatch only)."""
    is_prod: bool
    """Protect the group and apply changes in the maintenance window instead of immediately."""
    log_retention_days: int | None = None
    """Deliver the slow log and the engine log to CloudWatch log groups kept this many days (None: no log
    delivery)."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of those log groups (None: CloudWatch Logs' default encryption)."""


def member_cluster_id(replication_group_id: str, index: int) -> str:
    """Id of the index-th (1-based) node of a cluster-mode-off group, as ElastiCache names it."""
    return f"{replication_group_id}-{index:03d}"


def redis_url(token: str, host: str, port: int) -> str:
    """The app's NEXUS_REDIS_URL: TLS (rediss), AUTH token as the password, database 0."""
    return f"rediss://:{token}@{host}:{port}/0"


class Cache(pulumi.ComponentResource):
    """ElastiCache for Valkey with TLS, encryption at rest, AUTH, noeviction and memory alarms."""

    primary_endpoint: pulumi.Output[str]
    """DNS name of the primary (reads and writes); follows failover."""
    reader_endpoint: pulumi.Output[str]
    """DNS name spreading connections over the replicas (the primary when there are none)."""
    port: pulumi.Output[int]
    """TCP port of both endpoints."""
    auth_token: pulumi.Output[str]
    """The AUTH token (secret)."""
    redis_url: pulumi.Output[str]
    """rediss://:<token>@<primary>:<port>/0 (secret): the app's NEXUS_REDIS_URL."""
    security_group_id: pulumi.Output[str]
    """The group on the nodes."""
    replication_group_id: pulumi.Output[str]
    """Id of the replication group."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:cache:Cache", name, None, opts)
        self._name = name
        self._args = args

        group_sg = self._security_group()
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"{name}: subnets without an internet route",
            opts=self._opts(),
        )
        parameters = self._parameter_group()
        token = random.RandomPassword(
            f"{name}-auth-token",
            length=AUTH_TOKEN_LENGTH,
            special=False,
            min_upper=1,
            min_lower=1,
            min_numeric=1,
            # A new version makes a new token; the group then rotates it in (see auth_token_update_strategy).
            keepers={"version": str(args.auth_token_version)},
            opts=self._opts(),
        )
        secret_token: pulumi.Output[str] = pulumi.Output.secret(token.result)
        group = self._replication_group(group_sg, subnet_group, parameters, secret_token, self._log_groups())
        self._memory_alarms(group)

        self.primary_endpoint = group.primary_endpoint_address
        self.reader_endpoint = group.reader_endpoint_address
        self.port = pulumi.Output.from_input(REDIS_PORT)
        self.auth_token = secret_token
        self.redis_url = pulumi.Output.secret(
            pulumi.Output.all(secret_token, group.primary_endpoint_address).apply(
                lambda values: redis_url(values[0], values[1], REDIS_PORT)
            )
        )
        self.security_group_id = group_sg.id
        self.replication_group_id = group.id
        self.register_outputs(
            {
                "primaryEndpoint": self.primary_endpoint,
                "readerEndpoint": self.reader_endpoint,
                "port": self.port,
                "authToken": self.auth_token,
                "redisUrl": self.redis_url,
                "securityGroupId": self.security_group_id,
                "replicationGroupId": self.replication_group_id,
            }
        )

    def _opts(self, *, protect: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=protect)

    def _security_group(self) -> aws.ec2.SecurityGroup:
        # No egress rule: the nodes never open connections (replication stays inside the service).
        group = aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            vpc_id=self._args.vpc_id,
            description="ElastiCache nodes: Redis protocol from the workloads of the cluster only",
            revoke_rules_on_delete=True,
            tags={"Name": f"{self._name}-sg"},
            opts=self._opts(),
        )
        # Group-to-group: pods reach Redis because their node carries the workload group; no CIDR is ever
        # admitted, so nothing outside the cluster can connect even from inside the VPC.
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-from-workloads",
            security_group_id=group.id,
            referenced_security_group_id=self._args.workload_security_group_id,
            ip_protocol="tcp",
            from_port=REDIS_PORT,
            to_port=REDIS_PORT,
            description="Redis (TLS) from the nodes and pods of the cluster",
            opts=self._opts(),
        )
        return group

    def _parameter_group(self) -> aws.elasticache.ParameterGroup:
        # Auto-named: a new family (engine upgrade) forces a replacement, and a group in use cannot be
        # deleted, so the new one must be created (under a new name) before the old one goes.
        return aws.elasticache.ParameterGroup(
            f"{self._name}-params",
            family=self._args.parameter_group_family,
            description="Shared cache and job queue: never evict (queued jobs carry TTLs)",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value=MAXMEMORY_POLICY)
            ],
            opts=self._opts(),
        )

    def _replication_group(
        self,
        group_sg: aws.ec2.SecurityGroup,
        subnet_group: aws.elasticache.SubnetGroup,
        parameters: aws.elasticache.ParameterGroup,
        token: pulumi.Output[str],
        log_groups: dict[str, aws.cloudwatch.LogGroup],
    ) -> aws.elasticache.ReplicationGroup:
        args = self._args
        snapshots = args.snapshot_retention_days > 0
        return aws.elasticache.ReplicationGroup(
            self._name,
            description=f"{self._name}: cache and job queue",
            engine=ENGINE,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.num_nodes,
            port=REDIS_PORT,
            parameter_group_name=parameters.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[group_sg.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            # "required" refuses plaintext connections; "preferred" exists only to migrate live clients.
            transit_encryption_mode="required",
            # Write-only: the token reaches AWS but is not kept in the group's state (the generated password
            # is, as a secret, because the app's URL is built from it).
            auth_token_wo=token,
            auth_token_wo_version=args.auth_token_version,
            # ROTATE keeps the old token valid next to the new one, so pods still holding the old URL keep
            # working during the rollout; docs/cache-and-storage.md has the step that retires the old one.
            auth_token_update_strategy="ROTATE",  # noqa: S106 - a strategy name, not a password
            automatic_failover_enabled=args.automatic_failover,
            multi_az_enabled=args.multi_az,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window if snapshots else None,
            # Deleting a prod group (after lifting protect) leaves a last snapshot of the queue behind.
            final_snapshot_identifier=f"{self._name}-final" if args.is_prod and snapshots else None,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            # Prod changes wait for the maintenance window; dev applies them now.
            apply_immediately=not args.is_prod,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=group.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                )
                for log_type, group in log_groups.items()
            ],
            # Queued jobs are data: prod refuses to delete the group by accident.
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.is_prod, depends_on=list(log_groups.values())
            ),
        )

    def _log_groups(self) -> dict[str, aws.cloudwatch.LogGroup]:
        # Slow log (commands over slowlog-log-slower-than) and engine log (failovers, replication, errors),
        # delivered as JSON to CloudWatch Logs (ElastiCache user guide, Log delivery: destination_type
        # cloudwatch-logs, log_type slow-log | engine-log; pulumi_aws/elasticache/_inputs.py,
        # ReplicationGroupLogDeliveryConfigurationArgs).
        args = self._args
        if args.log_retention_days is None:
            return {}
        return {
            log_type: aws.cloudwatch.LogGroup(
                f"{self._name}-{log_type}",
                name=f"/aws/elasticache/{self._name}/{log_type}",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.log_kms_key_arn,
                opts=self._opts(),
            )
            for log_type in ("slow-log", "engine-log")
        }

    @staticmethod
    def _member_id(group: aws.elasticache.ReplicationGroup, index: int) -> pulumi.Output[str]:
        return group.id.apply(lambda group_id: member_cluster_id(group_id, index))

    def _memory_alarms(self, group: aws.elasticache.ReplicationGroup) -> None:
        # One alarm per node, keyed by its member number: with noeviction a full node refuses writes, and
        # after a failover any node may be the primary.
        for index in range(1, self._args.num_nodes + 1):
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-memory-{index:03d}",
                alarm_description=(
                    f"Valkey node {index} above {self._args.memory_alarm_percent}% of maxmemory; at 100% "
                    "(noeviction) cache writes miss and enqueues fail with 503: scale the node type"
                ),
                namespace="AWS/ElastiCache",
                metric_name=MEMORY_METRIC,
                dimensions={"CacheClusterId": self._member_id(group, index)},
                statistic="Maximum",
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=3,
                threshold=self._args.memory_alarm_percent,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="missing",
                alarm_actions=list(self._args.alarm_actions),
                ok_actions=list(self._args.alarm_actions),
                opts=self._opts(),
            )
