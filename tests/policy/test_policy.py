"""Every policy rule over every stack file, and proof that each rule can fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy import RULES, PolicyResource, PolicyRule, check_all, check_rule, from_records
from policy.baseline import grants_everything
from policy.core import Graph, effective_tags, is_taggable
from policy.network import load_balancer_groups
from tests.support.harness import PROJECT_NAME, StackRun
from tests.support.policy_edits import edit as _edit
from tests.support.policy_edits import violations as _violations

pytestmark = pytest.mark.infra

RULE_NAMES = [rule.name for rule in RULES]
STACK = f"urn:pulumi:prod::{PROJECT_NAME}::pulumi:pulumi:Stack::{PROJECT_NAME}-prod"


def _rule(name: str) -> PolicyRule:
    return next(rule for rule in RULES if rule.name == name)


@pytest.mark.parametrize("rule_name", RULE_NAMES)
def test_rule_holds_on_every_stack(stack_run: StackRun, rule_name: str) -> None:
    violations = check_rule(_rule(rule_name), from_records(stack_run))
    assert violations == [], "\n".join(map(str, violations))


def test_rule_names_are_unique() -> None:
    assert len(set(RULE_NAMES)) == len(RULE_NAMES)


# --- each rule can fail: the real prod graph, broken on purpose -------------------------------------------


def _first(resources: list[PolicyResource], type_: str) -> PolicyResource:
    return next(r for r in resources if r.type == type_)


def test_required_tags_fails_when_the_provider_loses_its_default_tags(
    prod_graph: list[PolicyResource],
) -> None:
    broken = _edit(prod_graph, lambda r: r.type == "pulumi:providers:aws", inputs={"region": "us-east-1"})
    violations = _violations("required-tags", broken)
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    assert vpc.urn in {v.urn for v in violations}
    assert all("Project, Environment, ManagedBy" in v.message for v in violations)
    # Routes take no tags, so they are never reported.
    assert not any(":aws:ec2/route:Route::" in v.urn for v in violations)


def test_required_tags_fails_on_a_resource_without_the_provider(prod_graph: list[PolicyResource]) -> None:
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    broken = _edit(
        prod_graph, lambda r: r.urn == vpc.urn, provider=None, inputs={**vpc.inputs, "tags": {"Name": "x"}}
    )
    assert [v.urn for v in _violations("required-tags", broken)] == [vpc.urn]


def test_own_tags_satisfy_the_rule_without_provider_defaults(prod_graph: list[PolicyResource]) -> None:
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    own = {"Project": "p", "Environment": "e", "ManagedBy": "m"}
    fixed = _edit(prod_graph, lambda r: r.urn == vpc.urn, provider=None, inputs={**vpc.inputs, "tags": own})
    assert _violations("required-tags", fixed) == []


def test_effective_tags_merge_provider_defaults_with_own_tags(prod_graph: list[PolicyResource]) -> None:
    g = Graph(prod_graph)
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    tags = effective_tags(g, vpc)
    assert tags["Environment"] == "prod"
    assert tags["ManagedBy"] == "pulumi"
    assert tags["Project"] == PROJECT_NAME
    assert tags["Name"] == json.loads(json.dumps(vpc.inputs["tags"]))["Name"]


def test_taggable_is_read_from_the_provider_classes() -> None:
    assert is_taggable("aws:ec2/vpc:Vpc")
    assert is_taggable("aws:rds/instance:Instance")
    assert not is_taggable("aws:ec2/route:Route")
    assert not is_taggable("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not is_taggable("aws:nosuchmodule/thing:Thing")


def _world_rule(graph: list[PolicyResource], port: int, group_urn: str) -> PolicyResource:
    return PolicyResource(
        urn=f"{STACK}$nexus:test:Broken$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::open-{port}",
        type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        name=f"open-{port}",
        parent=graph[0].parent,
        provider=_first(graph, "pulumi:providers:aws").urn,
        inputs={"cidrIpv4": "0.0.0.0/0", "fromPort": port, "toPort": port, "ipProtocol": "tcp"},
        property_dependencies={"securityGroupId": (group_urn,)},
    )


def test_world_ingress_is_refused_on_a_data_store_group(prod_graph: list[PolicyResource]) -> None:
    db_group = next(
        r for r in prod_graph if r.type == "aws:ec2/securityGroup:SecurityGroup" and "shard" in r.name
    )
    violations = _violations("no-world-ingress", [*prod_graph, _world_rule(prod_graph, 5432, db_group.urn)])
    assert [v.urn.rsplit("::", 1)[1] for v in violations] == ["open-5432"]
    assert "0.0.0.0/0" in violations[0].message


def test_world_ingress_inline_and_ipv6_are_refused(prod_graph: list[PolicyResource]) -> None:
    group = next(r for r in prod_graph if r.type == "aws:ec2/securityGroup:SecurityGroup")
    inline = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6CidrBlocks": ["::/0"]}
    broken = _edit(prod_graph, lambda r: r.urn == group.urn, inputs={**group.inputs, "ingress": [inline]})
    violations = _violations("no-world-ingress", broken)
    assert [v.urn for v in violations] == [group.urn]
    assert "::/0" in violations[0].message


def test_load_balancer_group_is_open_only_on_80_and_443(prod_graph: list[PolicyResource]) -> None:
    balancer_groups = load_balancer_groups(Graph(prod_graph))
    assert balancer_groups, "prod has an ALB: its security group must be recognised"
    lb_group = sorted(balancer_groups)[0]
    assert _violations("no-world-ingress", [*prod_graph, _world_rule(prod_graph, 443, lb_group)]) == []
    violations = _violations("no-world-ingress", [*prod_graph, _world_rule(prod_graph, 8080, lb_group)])
    assert [v.urn.rsplit("::", 1)[1] for v in violations] == ["open-8080"]


def test_prod_exercises_the_load_balancer_exception(prod_graph: list[PolicyResource]) -> None:
    # Without this, "no violations on prod" could mean the rule never saw a world-open rule at all.
    world_open = [
        r
        for r in prod_graph
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        and r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert world_open
    assert {
        dep for r in world_open for dep in r.property_dependencies["securityGroupId"]
    } <= load_balancer_groups(Graph(prod_graph))


def test_parented_refuses_a_top_level_cloud_resource(prod_graph: list[PolicyResource]) -> None:
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    broken = _edit(prod_graph, lambda r: r.urn == vpc.urn, parent=STACK)
    assert [v.urn for v in _violations("parented", broken)] == [vpc.urn]
    orphan = _edit(prod_graph, lambda r: r.urn == vpc.urn, parent=None)
    assert [v.urn for v in _violations("parented", orphan)] == [vpc.urn]


def test_parented_allows_top_level_components_and_providers(prod_graph: list[PolicyResource]) -> None:
    top = [r for r in prod_graph if r.parent == STACK]
    assert top
    assert all(not r.custom or r.is_provider for r in top)
    assert any(r.is_provider for r in top)
    assert any(not r.custom for r in top)


def test_explicit_provider_refuses_the_default_provider(prod_graph: list[PolicyResource]) -> None:
    bucket = _first(prod_graph, "aws:s3/bucket:Bucket")
    broken = _edit(prod_graph, lambda r: r.urn == bucket.urn, provider=None)
    assert [v.urn for v in _violations("explicit-aws-provider", broken)] == [bucket.urn]


def test_check_all_reports_every_rule(prod_graph: list[PolicyResource]) -> None:
    vpc = _first(prod_graph, "aws:ec2/vpc:Vpc")
    broken = _edit(
        prod_graph,
        lambda r: r.urn == vpc.urn,
        parent=STACK,
        provider=None,
        inputs={"cidrBlock": "10.0.0.0/16"},
    )
    assert {v.rule for v in check_all(broken)} == {"required-tags", "parented", "explicit-aws-provider"}


@pytest.mark.parametrize(
    ("statement", "grants"),
    [
        ({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["*"]}, True),
        ({"Sid": "Star", "Effect": "Allow", "Action": "*:*", "Resource": "*"}, True),
        ({"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, True),
        ({"Sid": "NotRes", "Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"}, True),
        ({"Sid": "Deny", "Effect": "Deny", "Action": "*", "Resource": "*"}, False),
        ({"Sid": "S3All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, False),
        ({"Sid": "Scoped", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x/*"}, False),
    ],
)
def test_any_action_on_any_resource_is_found(statement: dict[str, Any], grants: bool) -> None:
    assert grants_everything(statement) is grants
    # The rule reads each document's statements, a single statement object (valid IAM) included.
    for document in ({"Statement": [statement]}, {"Statement": statement}):
        policy = PolicyResource(
            urn="urn:x", type="aws:iam/policy:Policy", name="x", inputs={"policy": document}
        )
        assert [v.rule for v in check_rule(_rule("iam-no-star-on-star"), [policy])] == (
            ["iam-no-star-on-star"] if grants else []
        )
