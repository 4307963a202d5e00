"""Policy rules of issue 17 (production hardening), each broken once on purpose on the real prod graph.

That they hold on every stack is tests/policy/test_policy.py's ``test_rule_holds_on_every_stack``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy import RULES, PolicyResource, from_records
from tests.support.harness import StackRun
from tests.support.policy_edits import edit as _edit
from tests.support.policy_edits import violations as _violations

pytestmark = pytest.mark.infra

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
RDS_INSTANCE = "aws:rds/instance:Instance"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


@pytest.fixture
def graph(prod_run: StackRun) -> list[PolicyResource]:
    return from_records(prod_run)


def _one(resources: list[PolicyResource], type_: str, name: str) -> PolicyResource:
    (found,) = [r for r in resources if r.type == type_ and r.name == name]
    return found


def _inputs(resource: PolicyResource, **changes: Any) -> dict[str, Any]:
    return {**resource.inputs, **changes}


def test_every_hardening_rule_holds_on_prod_first(graph: list[PolicyResource]) -> None:
    names = [
        "alarms-notify",
        "log-groups-expire",
        "rds-log-groups-precreated",
        "kms-key-policy-explicit",
        "prod-waf-on-public-alb",
        "prod-rds-monitored",
        "replica-windows-apart",
        "prod-private-endpoints",
    ]
    assert {rule.name for rule in RULES} >= set(names)
    for name in names:
        assert _violations(name, graph) == [], name


def test_alarm_without_actions_notifies_nobody(graph: list[PolicyResource]) -> None:
    alarm = _one(graph, ALARM, "nexus-prod-alb-target-5xx")
    edited = _edit(graph, lambda r: r.urn == alarm.urn, inputs=_inputs(alarm, okActions=[]))
    assert [v.message for v in _violations("alarms-notify", edited)] == [
        "no okActions: the alarm notifies nobody"
    ]


def test_alarm_actions_must_name_the_stacks_topic(graph: list[PolicyResource]) -> None:
    alarm = _one(graph, ALARM, "nexus-prod-shard-a-proxy-borrow-latency")
    edited = _edit(
        graph,
        lambda r: r.urn == alarm.urn,
        inputs=_inputs(alarm, alarmActions=["arn:aws:sns:us-east-1:123456789012:somewhere-else"]),
        property_dependencies={**alarm.property_dependencies, "alarmActions": ()},
    )
    assert [v.urn for v in _violations("alarms-notify", edited)] == [alarm.urn]


def test_log_group_without_retention_is_kept_forever(graph: list[PolicyResource]) -> None:
    group = _one(graph, LOG_GROUP, "nexus-prod-waf-logs")
    edited = _edit(graph, lambda r: r.urn == group.urn, inputs=_inputs(group, retentionInDays=0))
    assert [v.urn for v in _violations("log-groups-expire", edited)] == [group.urn]


def test_rds_log_group_created_after_the_instance_is_refused(graph: list[PolicyResource]) -> None:
    # The instance no longer waits for its log groups (dependencies dropped): RDS would create them first.
    primary = _one(graph, RDS_INSTANCE, "nexus-prod-shard-b-primary")
    groups = {r.urn for r in graph if r.type == LOG_GROUP and "shard-b-primary-logs" in r.name}
    edited = _edit(
        graph,
        lambda r: r.urn == primary.urn,
        dependencies=tuple(urn for urn in primary.dependencies if urn not in groups),
    )
    messages = [v.message for v in _violations("rds-log-groups-precreated", edited)]
    assert len(messages) == 2
    assert "/aws/rds/instance/nexus-prod-shard-b-primary/postgresql" in messages[0]


def test_kms_key_without_administrators_or_with_kms_star_is_refused(graph: list[PolicyResource]) -> None:
    key = next(r for r in graph if r.type == KMS_KEY and "alerts" in r.name)
    document = json.loads(key.inputs["policy"])
    usage_only = {
        **document,
        "Statement": [s for s in document["Statement"] if s["Sid"] != "KeyAdministration"],
    }
    no_admin = _edit(graph, lambda r: r.urn == key.urn, inputs=_inputs(key, policy=json.dumps(usage_only)))
    (violation,) = _violations("kms-key-policy-explicit", no_admin)
    assert violation.message == "no statement lets an administrator change the policy (kms:Put*)"
    document["Statement"].append(
        {
            "Sid": "Everything",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    star = _edit(graph, lambda r: r.urn == key.urn, inputs=_inputs(key, policy=json.dumps(document)))
    (violation,) = _violations("kms-key-policy-explicit", star)
    assert "allows kms:*" in violation.message
    assert "allows any principal unconditioned" in violation.message


def test_prod_alb_without_web_acl_is_refused(graph: list[PolicyResource]) -> None:
    without = [r for r in graph if r.type != WEB_ACL_ASSOCIATION]
    (violation,) = _violations("prod-waf-on-public-alb", without)
    assert violation.message == "an internet-facing prod ALB without a web ACL"


def test_prod_web_acl_without_known_bad_inputs_is_refused(graph: list[PolicyResource]) -> None:
    acl = next(r for r in graph if r.type == WEB_ACL)
    rules = [
        rule for rule in acl.inputs["rules"] if rule.get("name") != "AWSManagedRulesKnownBadInputsRuleSet"
    ]
    edited = _edit(graph, lambda r: r.urn == acl.urn, inputs=_inputs(acl, rules=rules))
    (violation,) = _violations("prod-waf-on-public-alb", edited)
    assert violation.message == "the ALB's web ACL has no AWSManagedRulesKnownBadInputsRuleSet"


def test_prod_database_without_monitoring_or_keeping_backups_is_refused(graph: list[PolicyResource]) -> None:
    primary = _one(graph, RDS_INSTANCE, "nexus-prod-shard-a-primary")
    edited = _edit(
        graph,
        lambda r: r.urn == primary.urn,
        inputs=_inputs(primary, monitoringInterval=0, deleteAutomatedBackups=True),
    )
    (violation,) = _violations("prod-rds-monitored", edited)
    assert violation.message == (
        "no Enhanced Monitoring (monitoring_interval and its role); automated backups deleted with the "
        "instance (delete_automated_backups)"
    )


def test_replica_in_its_primarys_maintenance_window_is_refused(graph: list[PolicyResource]) -> None:
    primary = _one(graph, RDS_INSTANCE, "nexus-prod-shard-a-primary")
    replica = _one(graph, RDS_INSTANCE, "nexus-prod-shard-a-replica-1")
    edited = _edit(
        graph,
        lambda r: r.urn == replica.urn,
        inputs=_inputs(replica, maintenanceWindow=primary.inputs["maintenanceWindow"]),
    )
    (violation,) = _violations("replica-windows-apart", edited)
    assert violation.urn == replica.urn
    assert violation.message.endswith("is also nexus-prod-shard-a-primary's")


def test_prod_vpc_without_an_sts_endpoint_is_refused(graph: list[PolicyResource]) -> None:
    without = [r for r in graph if not (r.type == VPC_ENDPOINT and r.name.endswith("-sts"))]
    (violation,) = _violations("prod-private-endpoints", without)
    assert violation.message.startswith("no interface endpoint with private DNS for sts")
