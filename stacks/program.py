"""The composition: read config once, build the components, export what users need.

Each component receives plain config values and other components' outputs; none reads pulumi.Config.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.iam_policies import ALB_ACCESS_LOG_PREFIX
from infra.network import Network, NetworkArgs
from stacks.compute import build_compute, cluster_name, export_compute
from stacks.config import ConfigError, StackConfig, load
from stacks.config.placeholders import find_placeholders
from stacks.datastores import build_datastores, export_datastores
from stacks.hardening import build_edge, build_endpoints, build_hardening, export_hardening
from stacks.shards import build_shards, shards_output, tenant_map_output
from stacks.workloads import build_workloads

PLACEHOLDER_WARNING = "placeholder: "
"""Prefix of the preview's warning for each example value (the offline preview lists them from it)."""


def read_config() -> StackConfig:
    """The one place that reads stack config. A bad config stops the run before any resource exists."""
    from pulumi.runtime.config import get_config_env  # the engine's raw config, namespaced keys

    from stacks.config.catalog_checks import catalog_warnings

    raw = dict(get_config_env())
    try:
        config = load(raw, stack=pulumi.get_stack(), project=pulumi.get_project())
    except ConfigError as exc:
        # RunError is reported by the language host as a plain message, without a traceback.
        raise pulumi.RunError("invalid stack config:\n  " + "\n  ".join(exc.problems)) from None
    refuse_placeholders(raw)
    for warning in catalog_warnings(config):  # values nexus:allowUnknownTypes let through
        pulumi.log.warn(warning)
    return config


def refuse_placeholders(raw: dict[str, str]) -> None:
    """A real ``pulumi up`` stops before any resource while the config holds an example value; a preview
    (a dry run: ``pulumi preview``, the offline preview) only warns, once per value."""
    placeholders = find_placeholders(raw)
    if not placeholders:
        return
    if not pulumi.runtime.is_dry_run():
        raise pulumi.RunError(
            "stack config still holds example values (docs/operations.md, first deploy):\n  "
            + "\n  ".join(placeholders)
        )
    for line in placeholders:
        pulumi.log.warn(f"{PLACEHOLDER_WARNING}{line}")


def main() -> None:
    """Build the whole stack."""
    cfg = read_config()
    for tenant, move in sorted(cfg.tenant_moves.items()):
        # The preview's Diagnostics show it, as `pulumi preview` does: the data must have moved already.
        pulumi.log.warn(
            f"tenant {tenant} moves from {move.source} to {move.target}: run the move first, see "
            "docs/shards.md (acknowledged in nexus:tenantMoves; remove the entry after this deploy)"
        )
    provider = aws.Provider(
        "aws",
        region=cfg.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.base_tags()),
    )
    aws_opts = pulumi.ResourceOptions(providers=[provider])
    # The alarm topic and the stack's keys (nexus:alarms, nexus:logs): every tier below uses them.
    hardening = build_hardening(cfg, provider=provider)

    network = Network(
        f"{cfg.name_prefix}-network",
        NetworkArgs(
            cidr=cfg.network.cidr,
            az_count=cfg.network.az_count,
            nat_gateways=cfg.network.nat_gateways,
            flow_logs=cfg.network.flow_logs,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            cluster_name=cluster_name(cfg),
            zone_ids=tuple(cfg.network.zone_ids or ()),
            log_kms_key_arn=hardening.logs_key_arn,
        ),
        opts=aws_opts,
    )

    # Interface endpoints for AWS APIs without NAT (nexus:vpcEndpoints).
    build_endpoints(cfg, network, opts=aws_opts)

    # One TenantShard per nexus:shards entry; the tenant map is built from config + their endpoints.
    shards = build_shards(
        cfg,
        vpc_id=network.vpc_id,
        isolated_subnet_ids=network.isolated_subnet_ids,
        workload_security_group_id=network.workload_security_group_id,
        opts=aws_opts,
        alarms=hardening.alarm_target,
        log_kms_key_arn=hardening.logs_key_arn,
        storage_kms_key_arn=hardening.data_key_arn,
    )
    tenant_map = tenant_map_output(cfg, shards)

    # Valkey and the buckets; Redis sits in the isolated tier with the databases (no internet route).
    datastores = build_datastores(
        cfg,
        vpc_id=network.vpc_id,
        subnet_ids=network.isolated_subnet_ids,
        workload_security_group_id=network.workload_security_group_id,
        # The pods' roles may read the app role's secrets, never the masters' (only the proxies read those).
        db_secret_arns=[shard.app_secret_arn for shard in shards.values()],
        provider=provider,
        alarms=hardening.alarm_target,
        log_kms_key_arn=hardening.logs_key_arn,
    )

    # EKS, its controllers and the ALB; the ALB writes its access logs to the log bucket when configured.
    log_bucket = datastores.access_logs
    compute = build_compute(
        cfg,
        network,
        opts=aws_opts,
        access_logs_bucket=log_bucket.bucket_name if log_bucket is not None else None,
        # The prefix the bucket's policy lets ELB write under: one value for both, so they cannot drift apart.
        access_logs_prefix=log_bucket.log_prefix if log_bucket is not None else ALB_ACCESS_LOG_PREFIX,
        alb_depends_on=[log_bucket] if log_bucket is not None else [],
        alarms=hardening.alarm_target,
        log_kms_key_arn=hardening.logs_key_arn,
    )
    # The web ACL on the ALB and the pod logs add-on (nexus:waf, nexus:logs.podLogs).
    firewall, _ = build_edge(cfg, compute, hardening, opts=aws_opts)

    # The image repository is the account bootstrap's (bootstrap/, stacks/bootstrap/program.py): CI pushes the
    # image there before this stack's first `up` deploys it by digest.

    # The API and the worker on the cluster: identities, settings, secrets, migrations, Deployments, scaling.
    build_workloads(
        cfg, compute=compute, datastores=datastores, shards=shards, tenant_map=tenant_map, opts=aws_opts
    )

    pulumi.export("environment", cfg.environment)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("tenantShards", cfg.tenant_shards())
    pulumi.export("tenantMap", tenant_map)
    pulumi.export("shards", shards_output(shards))
    export_datastores(datastores)
    export_compute(compute, cfg.alb.domain_name)
    export_hardening(hardening, firewall)
    # The image the workloads run: CI reads it back so that a pull request's preview keeps the deployed image.
    pulumi.export("apiImage", cfg.api.image)
