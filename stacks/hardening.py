"""Composition of the production hardening (nexus:waf, nexus:alarms, nexus:logs, nexus:vpcEndpoints).

``build_hardening`` runs first: the network, the shards, the data stores and the compute tier receive from it
where their alarms notify, which key encrypts their log groups and (prod) which key encrypts the databases.
``build_endpoints`` runs after the network (the interface endpoints); ``build_edge`` after the compute tier
(the web ACL on the ALB and the pod logs add-on).

Keys (each with an explicit key policy, infra/kms.py):
- the alarm topic's key (always: CloudWatch cannot publish to a topic under aws/sns);
- the logs key, with nexus:logs.kms: the RDS, RDS Proxy, ElastiCache, WAF and Container Insights log groups;
- the data key, in prod: the databases' storage and Performance Insights. A snapshot encrypted with the
  AWS managed aws/rds key cannot be shared with another account (RDS user guide,
  USER_ShareSnapshot.html, "Sharing encrypted snapshots": "You can't share a snapshot that has been encrypted
  using the default AWS KMS key"), so a cross-account backup copy (the disaster-recovery account) needs a
  customer-managed key. Dev keeps aws/rds: its databases are disposable and the key would cost $1/month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from infra.alarms import AlarmTarget, AlarmThresholds
from infra.alerting import AlertTopic, AlertTopicArgs
from infra.endpoints import PrivateEndpoints, PrivateEndpointsArgs
from infra.kms import ServiceKey, logs_usage
from infra.network import Network
from infra.pod_logs import PodLogs, PodLogsArgs
from infra.waf import ApiFirewall, ApiFirewallArgs
from stacks.compute import cluster_name
from stacks.config.model import StackConfig

if TYPE_CHECKING:
    from offline import StackRun
    from stacks.compute import Compute


@dataclass(frozen=True, slots=True)
class Hardening:
    """What the other tiers receive from the hardening."""

    alerts: AlertTopic
    alarm_target: AlarmTarget
    logs_key_arn: pulumi.Output[str] | None
    """Key of the log groups (nexus:logs.kms), else None."""
    data_key_arn: pulumi.Output[str] | None
    """Key of the databases' storage and Performance Insights (prod), else None (aws/rds)."""


def alarm_thresholds(config: StackConfig) -> AlarmThresholds:
    """nexus:alarms as the alarms' plain thresholds."""
    a = config.alarms
    return AlarmThresholds(
        db_free_storage_gib=a.db_free_storage_gib,
        db_cpu_percent=a.db_cpu_percent,
        db_connections=a.db_connections,
        replica_lag_seconds=a.replica_lag_seconds,
        proxy_client_connections=a.proxy_client_connections,
        proxy_borrow_latency_ms=a.proxy_borrow_latency_ms,
        alb_server_errors=a.alb_server_errors,
        alb_target_response_seconds=a.alb_target_response_seconds,
    )


def rds_usage(region: str, account_id: str) -> dict[str, Any]:
    """The databases' key may be used by this account's principals through RDS only (the pattern of the AWS
    managed aws/rds key's policy: kms:ViaService and kms:CallerAccount)."""
    return {
        "Sid": "UseThroughRds",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
            "kms:ListGrants",
            "kms:DescribeKey",
        ],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"rds.{region}.amazonaws.com",
                "kms:CallerAccount": account_id,
            }
        },
    }


def build_hardening(config: StackConfig, *, provider: aws.Provider) -> Hardening:
    """The alarm topic and the stack's keys."""
    opts = pulumi.ResourceOptions(providers=[provider])
    prefix = config.name_prefix
    admins = tuple(config.cluster.admin_role_arns)
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    alerts = AlertTopic(
        f"{prefix}-alerts",
        AlertTopicArgs(
            admin_role_arns=admins,
            account_id=account,
            emails=tuple(config.alarms.emails),
            https_endpoints=tuple(config.alarms.https_endpoints),
        ),
        opts=opts,
    )
    logs_key = (
        ServiceKey(
            f"{prefix}-logs",
            description=f"{prefix}: encrypts the stack's log groups (CloudWatch Logs uses it)",
            admin_role_arns=admins,
            usage=account.apply(lambda acct: [logs_usage(config.region, acct)]),
            opts=opts,
            protect=config.is_prod,
        )
        if config.logs.kms
        else None
    )
    data_key = (
        ServiceKey(
            f"{prefix}-data",
            description=f"{prefix}: encrypts the databases and Performance Insights (RDS uses it)",
            admin_role_arns=admins,
            usage=account.apply(lambda acct: [rds_usage(config.region, acct)]),
            opts=opts,
            # Losing it loses every database and snapshot: protected like the data.
            protect=True,
        )
        if config.is_prod
        else None
    )
    return Hardening(
        alerts=alerts,
        alarm_target=AlarmTarget(actions=[alerts.topic_arn], thresholds=alarm_thresholds(config)),
        logs_key_arn=logs_key.arn if logs_key is not None else None,
        data_key_arn=data_key.arn if data_key is not None else None,
    )


def build_endpoints(
    config: StackConfig, network: Network, *, opts: pulumi.ResourceOptions
) -> PrivateEndpoints | None:
    """The interface endpoints in the private subnets (nexus:vpcEndpoints), when on."""
    if not config.vpc_endpoints.enabled:
        return None
    return PrivateEndpoints(
        f"{config.name_prefix}-endpoints",
        PrivateEndpointsArgs(
            region=config.region,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            workload_security_group_id=network.workload_security_group_id,
            services=tuple(config.vpc_endpoints.services),
        ),
        opts=opts,
    )


def build_edge(
    config: StackConfig, compute: Compute, hardening: Hardening, *, opts: pulumi.ResourceOptions
) -> tuple[ApiFirewall | None, PodLogs | None]:
    """The web ACL on the ALB (nexus:waf) and the pod logs add-on (nexus:logs.podLogs)."""
    prefix = config.name_prefix
    waf = config.waf
    firewall = (
        ApiFirewall(
            f"{prefix}-waf",
            ApiFirewallArgs(
                load_balancer_arn=compute.alb.arn,
                rate_limit=waf.rate_limit,
                rate_window_seconds=waf.rate_window_seconds,
                log_retention_days=waf.log_retention_days,
                log_kms_key_arn=hardening.logs_key_arn,
            ),
            opts=opts,
        )
        if waf.enabled
        else None
    )
    pod_logs = None
    if config.logs.pod_logs:
        pod_logs = PodLogs(
            f"{prefix}-pod-logs",
            PodLogsArgs(
                cluster_name=cluster_name(config),
                kubernetes_version=config.cluster.version,
                retention_days=config.logs.retention_days,
                kms_key_arn=hardening.logs_key_arn,
                depends_on=tuple(compute.cluster.ready),
            ),
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[compute.cluster.control_plane])
            ),
        )
    return firewall, pod_logs


def export_hardening(hardening: Hardening, firewall: ApiFirewall | None) -> None:
    """Stack outputs: where alarms go and the web ACL."""
    pulumi.export("alarmTopicArn", hardening.alerts.topic_arn)
    if firewall is not None:
        pulumi.export("webAclArn", firewall.web_acl_arn)


def hardening_lines(config: StackConfig, run: StackRun) -> list[str]:
    """The offline preview's summary of the hardening."""
    alarms, logs, waf = config.alarms, config.logs, config.waf
    subscribers = [*alarms.emails, *alarms.https_endpoints]
    alarm_count = len(run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    return [
        f"alarms   {alarm_count} alarms -> SNS topic (KMS) -> "
        + (", ".join(subscribers) if subscribers else "no subscriber"),
        "waf      "
        + (
            f"web ACL: {waf.rate_limit} requests per IP per {waf.rate_window_seconds} s, AWS common + "
            f"known bad inputs, logs kept {waf.log_retention_days} d"
            if waf.enabled
            else "off"
        ),
        f"logs     RDS/proxy/cache log groups kept {logs.retention_days} d"
        + (", KMS" if logs.kms else "")
        + (", pod logs (CloudWatch add-on)" if logs.pod_logs else "")
        + (", S3 access logs" if logs.bucket_access_logs else "")
        + (
            f", Enhanced Monitoring {logs.enhanced_monitoring_seconds} s"
            if logs.enhanced_monitoring_seconds
            else ""
        ),
        "endpoints " + (", ".join(config.vpc_endpoints.services) if config.vpc_endpoints.enabled else "off"),
    ]
