"""Composition of the shared data services: the Valkey group, the uploads bucket, the access-log bucket, and
the workloads' IAM policy documents over them.

Kept out of ``stacks/program.py`` so that the program stays a short list of components: this module turns
``nexus:cache`` and ``nexus:storage`` into the components' plain args and wires in the network's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from infra.alarms import AlarmTarget
from infra.cache import Cache, CacheArgs
from infra.iam_policies import S3_ACCESS_LOG_PREFIX
from infra.storage import AccessLogBucket, AccessLogBucketArgs, CorsRule, UploadsBucket, UploadsBucketArgs
from stacks.config.model import StackConfig

if TYPE_CHECKING:
    from offline import StackRun


@dataclass(frozen=True, slots=True)
class DataStores:
    """The shared data services of a stack and the workloads' policies on them."""

    cache: Cache
    uploads: UploadsBucket
    access_logs: AccessLogBucket | None
    """The ALB access-log bucket, when nexus:storage.accessLogs is on."""
    api_policy: pulumi.Output[str]
    """IAM policy (JSON) for the API pods' identity."""
    worker_policy: pulumi.Output[str]
    """IAM policy (JSON) for the queue worker pods' identity."""


def cache_args(
    config: StackConfig,
    *,
    vpc_id: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    workload_security_group_id: pulumi.Input[str],
    alarms: AlarmTarget | None = None,
    log_kms_key_arn: pulumi.Input[str] | None = None,
) -> CacheArgs:
    """The Cache's inputs: nexus:cache plus the network's outputs (and the hardening's topic and key)."""
    cache = config.cache
    return CacheArgs(
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        workload_security_group_id=workload_security_group_id,
        engine_version=cache.engine_version,
        parameter_group_family=cache.parameter_group_family,
        node_type=cache.node_type,
        num_nodes=cache.num_nodes,
        automatic_failover=cache.automatic_failover,
        multi_az=cache.multi_az,
        snapshot_retention_days=cache.snapshot_retention_days,
        snapshot_window=cache.snapshot_window,
        maintenance_window=cache.maintenance_window,
        auth_token_version=cache.auth_token_version,
        memory_alarm_percent=cache.memory_alarm_percent,
        alarm_actions=tuple(alarms.actions) if alarms is not None else (),
        is_prod=config.is_prod,
        log_retention_days=config.logs.retention_days,
        log_kms_key_arn=log_kms_key_arn,
    )


def uploads_args(config: StackConfig) -> UploadsBucketArgs:
    """The UploadsBucket's inputs from nexus:storage."""
    storage = config.storage
    cors = storage.cors
    return UploadsBucketArgs(
        noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
        abort_incomplete_multipart_days=storage.abort_incomplete_multipart_days,
        cors=None
        if cors is None
        else CorsRule(
            allowed_origins=tuple(cors.allowed_origins),
            allowed_methods=tuple(cors.allowed_methods),
            allowed_headers=tuple(cors.allowed_headers),
            expose_headers=tuple(cors.expose_headers),
            max_age_seconds=cors.max_age_seconds,
        ),
        is_prod=config.is_prod,
    )


def build_datastores(
    config: StackConfig,
    *,
    vpc_id: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    workload_security_group_id: pulumi.Input[str],
    db_secret_arns: Sequence[pulumi.Input[str]],
    provider: aws.Provider,
    alarms: AlarmTarget | None = None,
    log_kms_key_arn: pulumi.Input[str] | None = None,
) -> DataStores:
    """Create the Cache, the UploadsBucket and (when on) the AccessLogBucket with the stack's provider."""
    opts = pulumi.ResourceOptions(providers=[provider])
    prefix = config.name_prefix
    cache = Cache(
        f"{prefix}-cache",
        cache_args(
            config,
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            workload_security_group_id=workload_security_group_id,
            alarms=alarms,
            log_kms_key_arn=log_kms_key_arn,
        ),
        opts=opts,
    )
    uploads = UploadsBucket(f"{prefix}-uploads", uploads_args(config), opts=opts)
    access_logs = None
    if config.storage.access_logs:
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
        access_logs = AccessLogBucket(
            f"{prefix}-alb-logs",
            AccessLogBucketArgs(
                region=config.region,
                account_id=identity.account_id,
                retention_days=config.storage.access_log_retention_days,
                is_prod=config.is_prod,
                server_access_log_sources=((uploads.bucket_arn,) if config.logs.bucket_access_logs else ()),
            ),
            opts=opts,
        )
        if config.logs.bucket_access_logs:
            # S3 server access logs of the uploads bucket, after the log bucket's policy admits them.
            aws.s3.BucketLogging(
                f"{prefix}-uploads-access-logs",
                bucket=uploads.bucket_name,
                target_bucket=access_logs.bucket_name,
                target_prefix=S3_ACCESS_LOG_PREFIX,
                opts=pulumi.ResourceOptions(parent=uploads, depends_on=[access_logs]),
            )
    return DataStores(
        cache=cache,
        uploads=uploads,
        access_logs=access_logs,
        api_policy=uploads.api_policy(db_secret_arns),
        worker_policy=uploads.worker_policy(db_secret_arns),
    )


def export_datastores(stores: DataStores) -> None:
    """Stack outputs of the data services. No AUTH token and no Redis URL: the workloads receive them as a
    Kubernetes Secret from the program, and nothing outside the stack needs them (a secret output is one
    more place a secret can be read from, by anyone who may read the stack's outputs)."""
    cache = stores.cache
    pulumi.export("redisPrimaryEndpoint", cache.primary_endpoint)
    pulumi.export("redisReaderEndpoint", cache.reader_endpoint)
    pulumi.export("redisPort", cache.port)
    pulumi.export("uploadsBucketName", stores.uploads.bucket_name)
    pulumi.export("uploadsBucketArn", stores.uploads.bucket_arn)
    if stores.access_logs is not None:
        pulumi.export("accessLogBucketName", stores.access_logs.bucket_name)
    pulumi.export("apiPolicyDocument", stores.api_policy)
    pulumi.export("workerPolicyDocument", stores.worker_policy)


def datastore_lines(config: StackConfig, run: StackRun) -> list[str]:
    """The offline preview's summary of the Valkey group and the buckets (secrets never printed)."""
    cache, storage = config.cache, config.storage
    outputs: Any = run.outputs
    on = {True: "on", False: "off"}
    lines = [
        f"Valkey {cache.engine_version}: {cache.num_nodes} x {cache.node_type}, failover "
        f"{on[cache.automatic_failover]}, Multi-AZ {on[cache.multi_az]}, snapshots "
        + (f"{cache.snapshot_retention_days} d" if cache.snapshots_enabled else "off")
        + ", maxmemory-policy noeviction",
        f"    primary {outputs.get('redisPrimaryEndpoint')}:{outputs.get('redisPort')}",
        f"    reader  {outputs.get('redisReaderEndpoint')}:{outputs.get('redisPort')}",
        f"    TLS required, AUTH token v{cache.auth_token_version} (secret); memory alarm above "
        f"{cache.memory_alarm_percent}% per node",
        f"uploads  {outputs.get('uploadsBucketName')}: SSE-S3, versioned, noncurrent versions expire after "
        f"{storage.noncurrent_version_expiration_days} d, CORS "
        + (", ".join(storage.cors.allowed_origins) if storage.cors else "off")
        + (", protected" if config.is_prod else ""),
    ]
    if storage.access_logs:
        lines.append(
            f"alb logs {outputs.get('accessLogBucketName')}: SSE-S3, ELB delivery, kept "
            f"{storage.access_log_retention_days} d"
        )
    return lines
