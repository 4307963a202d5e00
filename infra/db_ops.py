"""Operating a shard's databases: their log groups, Enhanced Monitoring and maintenance windows.

Log groups: RDS writes exported logs to ``/aws/rds/instance/<identifier>/<log type>`` and RDS Proxy to
``/aws/rds/proxy/<proxy name>`` (RDS user guide, USER_LogAccess.Procedural.UploadtoCloudWatch.html and
rds-proxy.monitoring.html / rds-proxy-setup.html, "Proxy logs"). If the program does not create them first,
RDS creates them itself, without retention (kept forever) and outside Pulumi's state; created by the program,
they carry the stack's retention and key, and the instance waits for them. That needs the names before the
instance exists, so the shard's instances and proxy get identifiers derived from the component name instead
of auto-names.

Windows: the primary takes its automated backup in a daily window and its maintenance in a weekly window
that does not overlap it (RDS refuses overlapping windows: pulumi_aws/rds/instance.py, docstring of
backup_window, "Must not overlap with maintenance_window"). Each replica gets its weekly maintenance on
another day than the primary and than every other replica of the shard, so a patch never takes a primary
and its replicas, or two replicas, down at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_aws as aws

DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
BACKUP_WINDOW: Final = "03:00-03:30"
"""The primary's daily backup window (UTC), before the maintenance windows."""
MAINTENANCE_HOUR: Final = 4
"""Maintenance windows start at 04:00 UTC (after the backup window) and last 30 minutes."""
ENHANCED_MONITORING_POLICY: Final = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
"""AWS managed policy for the Enhanced Monitoring role (RDS user guide, USER_Monitoring.OS.Enabling.html)."""


def maintenance_window(slot: int) -> str:
    """The weekly maintenance window of slot 0 (the primary), 1 (replica 0), 2 (replica 1) ...: one day
    apart, and an hour later once every day of the week is taken (16 slots: a primary and 15 replicas)."""
    day = DAYS[slot % len(DAYS)]
    hour = MAINTENANCE_HOUR + slot // len(DAYS)
    return f"{day}:{hour:02d}:00-{day}:{hour:02d}:30"


def instance_log_group_name(identifier: str, log_type: str) -> str:
    """Where RDS exports one log type of an instance."""
    return f"/aws/rds/instance/{identifier}/{log_type}"


def proxy_log_group_name(proxy_name: str) -> str:
    """Where RDS Proxy writes its logs."""
    return f"/aws/rds/proxy/{proxy_name}"


def monitoring_assume_role_policy() -> str:
    """Trust policy of the Enhanced Monitoring role: the RDS monitoring service only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def log_groups(
    name: str,
    parent: pulumi.Resource,
    names: Sequence[str],
    *,
    retention_days: int,
    kms_key_arn: pulumi.Input[str] | None,
) -> list[aws.cloudwatch.LogGroup]:
    """One log group per name, children of ``parent``, keyed by the name's last segments."""
    groups = []
    for group_name in names:
        # An instance's groups by log type (<name>-logs-postgresql); the proxy's one group <name>-logs.
        suffix = f"-{group_name.rsplit('/', 1)[-1]}" if "/instance/" in group_name else ""
        groups.append(
            aws.cloudwatch.LogGroup(
                f"{name}-logs{suffix}",
                name=group_name,
                retention_in_days=retention_days,
                kms_key_id=kms_key_arn,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return groups


def monitoring_role(
    name: str, parent: pulumi.Resource, tags: dict[str, str]
) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
    """The role RDS assumes to publish Enhanced Monitoring metrics, with AWS's managed policy (the instances
    wait for the attachment: RDS checks the role when monitoring is turned on)."""
    role = aws.iam.Role(
        f"{name}-monitoring-role",
        description=f"{name}: RDS Enhanced Monitoring publishes OS metrics",
        assume_role_policy=monitoring_assume_role_policy(),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachment = aws.iam.RolePolicyAttachment(
        f"{name}-monitoring-policy",
        role=role.name,
        policy_arn=ENHANCED_MONITORING_POLICY,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return role, attachment
