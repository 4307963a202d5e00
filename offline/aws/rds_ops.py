"""RDS rules on operations settings: Enhanced Monitoring and the backup/maintenance windows."""

from __future__ import annotations

import re

from ..cloud import Ctx

# pulumi_aws/rds/instance.py, docstring of monitoring_interval: "Valid Values: 0, 1, 5, 10, 15, 30, 60".
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY = re.compile(r"^(\w{3}):([01]\d|2[0-3]):([0-5]\d)-(\w{3}):([01]\d|2[0-3]):([0-5]\d)$")
_WEEK = 7 * 24 * 60


def rds_monitoring(ctx: Ctx) -> str | None:
    """Interval among the valid values; a role whenever it is not 0 (RDS API reference, CreateDBInstance,
    MonitoringRoleArn: "If MonitoringInterval is set to a value other than 0, then you must supply a
    MonitoringRoleArn value")."""
    interval = ctx.inputs.get("monitoringInterval")
    if interval is None:
        return None
    if interval not in MONITORING_INTERVALS:
        return f"expected monitoring_interval to be one of {list(MONITORING_INTERVALS)}, got {interval}"
    if interval and not ctx.inputs.get("monitoringRoleArn"):
        return (
            "InvalidParameterCombination: A MonitoringRoleARN value is required if you specify a "
            "MonitoringInterval value other than 0."
        )
    return None


def _minutes(hour: str, minute: str) -> int:
    return int(hour) * 60 + int(minute)


def _weekly_span(window: str) -> tuple[int, int] | None:
    match = _WEEKLY.match(window.lower())
    if match is None or match[1] not in _DAYS or match[4] not in _DAYS:
        return None
    start = _DAYS.index(match[1]) * 1440 + _minutes(match[2], match[3])
    end = _DAYS.index(match[4]) * 1440 + _minutes(match[5], match[6])
    return start, end if end > start else end + _WEEK


def windows_overlap(backup: str, maintenance: str) -> bool:
    """Whether a daily backup window (hh:mm-hh:mm) meets a weekly maintenance window on any day."""
    daily, weekly = _DAILY.match(backup), _weekly_span(maintenance)
    if daily is None or weekly is None:
        return False
    start, end = _minutes(daily[1], daily[2]), _minutes(daily[3], daily[4])
    length = (end - start) % 1440
    m_start, m_end = weekly
    # The backup window recurs every day; compare each day's with the weekly window one week either side
    # too, so that windows wrapping past Saturday midnight are caught.
    for day in range(7):
        b_start = day * 1440 + start
        for shift in (-_WEEK, 0, _WEEK):
            if b_start < m_end + shift and m_start + shift < b_start + length:
                return True
    return False


def rds_windows(ctx: Ctx) -> str | None:
    """pulumi_aws/rds/instance.py, docstring of backup_window: "Must not overlap with maintenance_window"
    (RDS answers InvalidParameterValue)."""
    backup, maintenance = ctx.inputs.get("backupWindow"), ctx.inputs.get("maintenanceWindow")
    if backup and maintenance and windows_overlap(str(backup), str(maintenance)):
        return (
            f"InvalidParameterValue: The backup window and maintenance window must not overlap "
            f"(backup {backup}, maintenance {maintenance})"
        )
    return None
