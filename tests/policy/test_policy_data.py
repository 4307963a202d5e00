"""Policy rules of issue 14 (ALB access-log grant, creation order), broken on purpose on the real prod graph.

That they hold on every stack is tests/policy/test_policy.py's ``test_rule_holds_on_every_stack``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest

from policy import RULES, PolicyResource, Violation, check_rule, from_records
from tests.support.harness import StackRun

pytestmark = pytest.mark.infra

LB = "aws:lb/loadBalancer:LoadBalancer"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@pytest.fixture
def graph(prod_run: StackRun) -> list[PolicyResource]:
    return from_records(prod_run)


def _violations(name: str, resources: list[PolicyResource]) -> list[Violation]:
    (rule,) = [rule for rule in RULES if rule.name == name]
    return check_rule(rule, resources)


def _edit(
    resources: list[PolicyResource], match: Callable[[PolicyResource], bool], **changes: object
) -> list[PolicyResource]:
    edited = [dataclasses.replace(r, **changes) if match(r) else r for r in resources]  # type: ignore[arg-type]
    assert edited != resources, "the edit matched nothing"
    return edited


def _one(resources: list[PolicyResource], type_: str, name_part: str = "") -> PolicyResource:
    (found,) = [r for r in resources if r.type == type_ and name_part in r.name]
    return found


# --- alb-access-log-prefix-granted --------------------------------------------------------------------------


def _log_policy_granting(graph: list[PolicyResource], key: str) -> list[PolicyResource]:
    policy = _one(graph, BUCKET_POLICY, "alb-logs")
    document = json.loads(policy.inputs["policy"])
    for statement in document["Statement"]:
        if statement.get("Sid") == "AllowElbLogDelivery":
            bucket_arn = statement["Resource"].split("/", 1)[0]
            statement["Resource"] = f"{bucket_arn}/{key}"
    return _edit(
        graph, lambda r: r.urn == policy.urn, inputs={**policy.inputs, "policy": json.dumps(document)}
    )


def test_log_grant_without_the_albs_prefix_is_refused(graph: list[PolicyResource]) -> None:
    # Today's bug: the ALB writes under alb/AWSLogs/<account>/ while the grant covers AWSLogs/<account>/*.
    broken = _log_policy_granting(graph, "AWSLogs/123456789012/*")
    violations = _violations("alb-access-log-prefix-granted", broken)
    assert [v.urn for v in violations] == [_one(graph, LB).urn]
    assert "'alb/AWSLogs/<account>/'" in violations[0].message
    assert "Access Denied for bucket" in violations[0].message


def test_log_grant_for_another_prefix_or_action_is_refused(graph: list[PolicyResource]) -> None:
    assert _violations(
        "alb-access-log-prefix-granted", _log_policy_granting(graph, "elb/AWSLogs/123456789012/*")
    )
    lb = _one(graph, LB)
    moved = _edit(
        graph,
        lambda r: r.urn == lb.urn,
        inputs={**lb.inputs, "accessLogs": {**lb.inputs["accessLogs"], "prefix": "edge"}},
    )
    assert [v.urn for v in _violations("alb-access-log-prefix-granted", moved)] == [lb.urn]


def test_log_grant_with_wildcards_that_cover_the_prefix_passes(graph: list[PolicyResource]) -> None:
    for key in ("alb/AWSLogs/*", "alb/*", "*/AWSLogs/123456789012/*", "al?/AWSLogs/123456789012/*"):
        assert _violations("alb-access-log-prefix-granted", _log_policy_granting(graph, key)) == [], key


def test_log_grant_is_not_checked_when_logging_is_off(graph: list[PolicyResource]) -> None:
    lb = _one(graph, LB)
    off = _edit(
        graph,
        lambda r: r.urn == lb.urn,
        inputs={**lb.inputs, "accessLogs": {**lb.inputs["accessLogs"], "enabled": False}},
    )
    assert _violations("alb-access-log-prefix-granted", _log_policy_granting(off, "nothing/*")) == []
