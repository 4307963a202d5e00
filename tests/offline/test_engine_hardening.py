"""What the emulated AWS refuses for the hardening's resource types, as the provider or AWS would: WAFv2 rate
limits and windows, WAF log destinations, SNS topic names and subscriptions, RDS Enhanced Monitoring and
overlapping backup/maintenance windows (the rules and their sources: offline/aws/waf.py, rds_ops.py)."""

from __future__ import annotations

from typing import Any

import pytest

from offline import EmulationError
from offline.aws.rds_ops import windows_overlap
from offline.cloud import Ctx, emulate, lookup

pytestmark = pytest.mark.unit

ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
INSTANCE = "aws:rds/instance:Instance"
ALB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api/50dc6c495c0c9188"


def _emulate(type_: str, **inputs: Any) -> dict[str, Any]:
    ctx = Ctx(type=type_, name="x", urn=f"urn:pulumi:t::p::{type_}::x", inputs=inputs, region="us-east-1")
    _, state = emulate(ctx, lookup(type_))
    return state


def _acl(limit: Any = 2000, window: Any = 300, metric: str = "x-rate") -> dict[str, Any]:
    visibility = {"cloudwatchMetricsEnabled": True, "metricName": metric, "sampledRequestsEnabled": True}
    rule = {
        "name": "rate",
        "priority": 0,
        "action": {"block": {}},
        "statement": {
            "rateBasedStatement": {"limit": limit, "aggregateKeyType": "IP", "evaluationWindowSec": window}
        },
        "visibilityConfig": visibility,
    }
    return {"name": "api-waf", "scope": "REGIONAL", "rules": [rule], "visibilityConfig": visibility}


def test_a_web_acl_gets_a_regional_arn_and_accepts_engine_floats() -> None:
    state = _emulate(ACL, **_acl(limit=2000.0, window=300.0))
    assert state["arn"].startswith("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/api-waf/")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"limit": 9}, "limit to be in the range (10 - 2000000000), got 9"),
        ({"limit": 2_000_000_001}, "limit to be in the range (10 - 2000000000), got 2000000001"),
        ({"window": 30}, "evaluation_window_sec to be one of [60, 120, 300, 600], got 30"),
        ({"metric": "has space"}, "metric_name 'has space' must contain only alphanumeric hyphen"),
    ],
)
def test_a_web_acl_outside_the_providers_ranges_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(EmulationError) as refused:
        _emulate(ACL, **_acl(**change))
    assert message in str(refused.value)


def test_waf_logs_only_to_an_aws_waf_logs_destination() -> None:
    good = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-api"
    _emulate(LOGGING, resourceArn="arn:aws:wafv2:x", logDestinationConfigs=[good])
    with pytest.raises(EmulationError, match="must start with aws-waf-logs-"):
        _emulate(
            LOGGING,
            resourceArn="arn:aws:wafv2:x",
            logDestinationConfigs=["arn:aws:logs:us-east-1:123456789012:log-group:api-requests"],
        )


def test_a_web_acl_protects_an_alb_not_a_network_load_balancer() -> None:
    _emulate(ASSOCIATION, webAclArn="arn:aws:wafv2:x", resourceArn=ALB_ARN)
    nlb = ALB_ARN.replace("/app/", "/net/")
    with pytest.raises(EmulationError, match="not a resource a regional web ACL can protect"):
        _emulate(ASSOCIATION, webAclArn="arn:aws:wafv2:x", resourceArn=nlb)


def test_sns_topic_names_and_subscription_protocols() -> None:
    assert _emulate(TOPIC, name="alerts-1")["arn"] == "arn:aws:sns:us-east-1:123456789012:alerts-1"
    with pytest.raises(EmulationError, match="topic names are 1-256 ASCII letters"):
        _emulate(TOPIC, name="alerts.prod")
    topic = "arn:aws:sns:us-east-1:123456789012:alerts-1"
    _emulate(SUBSCRIPTION, topic=topic, protocol="email", endpoint="oncall@example.com")
    with pytest.raises(EmulationError, match="protocol 'pager'"):
        _emulate(SUBSCRIPTION, topic=topic, protocol="pager", endpoint="oncall@example.com")
    with pytest.raises(EmulationError, match="needs an e-mail address"):
        _emulate(SUBSCRIPTION, topic=topic, protocol="email", endpoint="oncall")


def _instance(**inputs: Any) -> dict[str, Any]:
    base = {"identifier": "db-1", "engine": "postgres", "instanceClass": "db.r6g.large"}
    return _emulate(INSTANCE, **{**base, **inputs})


def test_enhanced_monitoring_needs_a_valid_interval_and_a_role() -> None:
    _instance(monitoringInterval=60, monitoringRoleArn="arn:aws:iam::123456789012:role/monitoring")
    with pytest.raises(EmulationError, match="monitoring_interval to be one of"):
        _instance(monitoringInterval=45, monitoringRoleArn="arn:aws:iam::123456789012:role/monitoring")
    with pytest.raises(EmulationError, match="A MonitoringRoleARN value is required"):
        _instance(monitoringInterval=60)


def test_overlapping_backup_and_maintenance_windows_are_refused() -> None:
    _instance(backupWindow="03:00-03:30", maintenanceWindow="sun:04:00-sun:04:30")
    with pytest.raises(EmulationError, match="must not overlap"):
        _instance(backupWindow="03:00-04:30", maintenanceWindow="sun:04:00-sun:04:30")


@pytest.mark.parametrize(
    ("backup", "maintenance", "overlap"),
    [
        ("03:00-03:30", "sun:04:00-sun:04:30", False),
        ("03:00-04:30", "sun:04:00-sun:04:30", True),
        ("23:30-00:30", "sun:00:00-sun:00:15", True),  # the daily window crosses midnight
        ("23:30-00:30", "sat:23:45-sun:00:10", True),  # the weekly one crosses Saturday midnight
        ("10:00-11:00", "mon:09:00-tue:12:00", True),  # a window spanning days
        ("10:00-11:00", "mon:11:00-mon:12:00", False),  # touching is not overlapping
    ],
)
def test_window_overlap(backup: str, maintenance: str, overlap: bool) -> None:
    assert windows_overlap(backup, maintenance) is overlap
