"""CloudWatch alarms on the databases, their proxies and the ALB, all notifying the stack's alarm topic.

Metric names, namespaces, dimensions and units are AWS's:
- RDS instances: namespace AWS/RDS, dimension DBInstanceIdentifier; FreeStorageSpace in bytes, CPUUtilization
  in percent, DatabaseConnections a count, ReplicaLag in seconds on a read replica (RDS user guide,
  rds-metrics.html, "Amazon CloudWatch instance-level metrics for Amazon RDS").
- RDS Proxy: namespace AWS/RDS, dimension set ProxyName; ClientConnections a count,
  DatabaseConnectionsBorrowLatency in microseconds (RDS user guide, rds-proxy.monitoring.html).
- ALB: namespace AWS/ApplicationELB, dimension LoadBalancer (the ARN suffix app/<name>/<id>) and, for target
  metrics, TargetGroup (targetgroup/<name>/<id>); HTTPCode_Target_5XX_Count and HTTPCode_ELB_5XX_Count,
  UnHealthyHostCount, TargetResponseTime in seconds (ELB user guide, load-balancer-cloudwatch-metrics.html).

Who is paged for which alarm, and what to do first: docs/operations.md ("Who gets paged").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

GIB: Final = 1024**3


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """Thresholds of the database, proxy and ALB alarms (nexus:alarms)."""

    db_free_storage_gib: int
    db_cpu_percent: int
    db_connections: int
    replica_lag_seconds: int
    proxy_client_connections: int
    proxy_borrow_latency_ms: int
    alb_server_errors: int
    alb_target_response_seconds: float


@dataclass(frozen=True, kw_only=True)
class AlarmTarget:
    """Where alarms go and what they watch with."""

    actions: Sequence[pulumi.Input[str]]
    """SNS topic ARNs notified on ALARM and OK."""
    thresholds: AlarmThresholds


def _alarm(
    name: str,
    parent: pulumi.Resource,
    target: AlarmTarget,
    *,
    description: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    statistic: str | None = None,
    extended_statistic: str | None = None,
    threshold: float,
    comparison: str,
    periods: int = 5,
    datapoints: int = 3,
    missing: str = "missing",
) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dict(dimensions),
        statistic=statistic,
        extended_statistic=extended_statistic,
        period=60,
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data=missing,
        alarm_actions=list(target.actions),
        ok_actions=list(target.actions),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def database_alarms(
    name: str,
    parent: pulumi.Resource,
    target: AlarmTarget,
    identifier: pulumi.Input[str],
    *,
    replica: bool,
) -> list[aws.cloudwatch.MetricAlarm]:
    """Free storage, CPU and connections of one instance; replica lag on a replica."""
    t = target.thresholds
    dims: dict[str, pulumi.Input[str]] = {"DBInstanceIdentifier": identifier}
    alarms = [
        _alarm(
            f"{name}-free-storage",
            parent,
            target,
            description=f"{name}: under {t.db_free_storage_gib} GiB free; storage autoscaling may be at "
            "its ceiling (maxAllocatedStorage): raise it",
            metric="FreeStorageSpace",
            statistic="Minimum",
            threshold=t.db_free_storage_gib * GIB,
            comparison="LessThanThreshold",
            namespace="AWS/RDS",
            dimensions=dims,
        ),
        _alarm(
            f"{name}-cpu",
            parent,
            target,
            description=f"{name}: CPU above {t.db_cpu_percent}% for 3 of 5 minutes: look at Performance "
            "Insights' top SQL, then the instance class",
            metric="CPUUtilization",
            statistic="Average",
            threshold=t.db_cpu_percent,
            comparison="GreaterThanThreshold",
            namespace="AWS/RDS",
            dimensions=dims,
        ),
        _alarm(
            f"{name}-connections",
            parent,
            target,
            description=f"{name}: more than {t.db_connections} connections: the proxy pool or the reader "
            "pools are larger than planned",
            metric="DatabaseConnections",
            statistic="Maximum",
            threshold=t.db_connections,
            comparison="GreaterThanThreshold",
            namespace="AWS/RDS",
            dimensions=dims,
        ),
    ]
    if replica:
        alarms.append(
            _alarm(
                f"{name}-replica-lag",
                parent,
                target,
                description=f"{name}: replica more than {t.replica_lag_seconds} s behind its primary: "
                "reads are stale (read-your-writes falls back to the writer)",
                metric="ReplicaLag",
                statistic="Maximum",
                threshold=t.replica_lag_seconds,
                comparison="GreaterThanThreshold",
                namespace="AWS/RDS",
                dimensions=dims,
            )
        )
    return alarms


def proxy_alarms(
    name: str, parent: pulumi.Resource, target: AlarmTarget, proxy_name: pulumi.Input[str]
) -> list[aws.cloudwatch.MetricAlarm]:
    """Client connections and connection borrow latency of one RDS Proxy."""
    t = target.thresholds
    dims: dict[str, pulumi.Input[str]] = {"ProxyName": proxy_name}
    return [
        _alarm(
            f"{name}-client-connections",
            parent,
            target,
            description=f"{name}: more than {t.proxy_client_connections} client connections: pods "
            "leak connections or scaled past the plan",
            metric="ClientConnections",
            statistic="Maximum",
            threshold=t.proxy_client_connections,
            comparison="GreaterThanThreshold",
            namespace="AWS/RDS",
            dimensions=dims,
        ),
        _alarm(
            f"{name}-borrow-latency",
            parent,
            target,
            description=f"{name}: borrowing a pooled connection takes over {t.proxy_borrow_latency_ms} ms: "
            "the pool is exhausted (maxConnectionsPercent) or the primary is slow",
            metric="DatabaseConnectionsBorrowLatency",
            statistic="Average",
            # The metric is in microseconds.
            threshold=t.proxy_borrow_latency_ms * 1000,
            comparison="GreaterThanThreshold",
            namespace="AWS/RDS",
            dimensions=dims,
        ),
    ]


def alb_alarms(
    name: str,
    parent: pulumi.Resource,
    target: AlarmTarget,
    load_balancer: pulumi.Input[str],
    target_group: pulumi.Input[str],
) -> list[aws.cloudwatch.MetricAlarm]:
    """5xx (the pods' and the ALB's own), unhealthy targets and p99 target response time of the ALB.

    ``load_balancer`` and ``target_group`` are the ARN suffixes CloudWatch uses as dimensions.
    """
    t = target.thresholds
    lb = {"LoadBalancer": load_balancer}
    tg = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
    elb = "AWS/ApplicationELB"
    return [
        _alarm(
            f"{name}-target-5xx",
            parent,
            target,
            description=f"{name}: the API answered more than {t.alb_server_errors} 5xx per minute",
            namespace=elb,
            metric="HTTPCode_Target_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            threshold=t.alb_server_errors,
            comparison="GreaterThanThreshold",
            missing="notBreaching",
        ),
        _alarm(
            f"{name}-elb-5xx",
            parent,
            target,
            description=f"{name}: the load balancer itself answered more than {t.alb_server_errors} 5xx "
            "per minute (no healthy pod, or pods refusing connections)",
            namespace=elb,
            metric="HTTPCode_ELB_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            threshold=t.alb_server_errors,
            comparison="GreaterThanThreshold",
            missing="notBreaching",
        ),
        _alarm(
            f"{name}-unhealthy-hosts",
            parent,
            target,
            description=f"{name}: at least one API pod failed its health check for 3 of 5 minutes",
            namespace=elb,
            metric="UnHealthyHostCount",
            dimensions=tg,
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
        ),
        _alarm(
            f"{name}-response-time",
            parent,
            target,
            description=f"{name}: p99 target response time above {t.alb_target_response_seconds} s",
            namespace=elb,
            metric="TargetResponseTime",
            dimensions=lb,
            extended_statistic="p99",
            threshold=t.alb_target_response_seconds,
            comparison="GreaterThanThreshold",
            missing="notBreaching",
        ),
    ]
