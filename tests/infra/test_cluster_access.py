"""Who reaches the cluster: one access model (every admin an access entry of the program, no creator admin
permissions, so no duplicate entry for the creator: 409), and the deployers' network path to the endpoint
(443 ingress rules on the cluster security group, from nexus:cluster.apiAccess)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from offline.cloud import Ctx, EmulationError, emulate, lookup
from policy import RULES, PolicyResource, check_rule, from_records
from tests.support.harness import StackRun, config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra

CLUSTER = "aws:eks/cluster:Cluster"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
RUNNER_SG = "sg-0123456789abcdef0"
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/ci/deployer"


def _with_cluster(stack: str, **changes: Any) -> dict[str, Any]:
    config = stack_config(stack)
    config["nexus:cluster"] = {**config["nexus:cluster"], **changes}
    for key, value in changes.items():
        if value is None:
            del config["nexus:cluster"][key]
    return config


# --- access entries: one model ------------------------------------------------------------------------


@pytest.mark.parametrize("admins", [None, []])
def test_a_cluster_without_admin_roles_is_refused_naming_the_key(admins: list[str] | None) -> None:
    # Relying on the creator's implicit admin access is the model this program does not use.
    problems = config_problems(_with_cluster("prod", adminRoleArns=admins), stack="prod")
    assert problems == [
        "nexus:cluster.adminRoleArns: no cluster admin: the cluster is created without creator admin "
        "permissions, so list the IAM role that runs pulumi up (the Kubernetes provider acts as it) and any "
        "human admin roles, e.g. [arn:aws:iam::123456789012:role/deploy]"
    ]


def test_a_role_listed_twice_is_refused() -> None:
    problems = config_problems(_with_cluster("prod", adminRoleArns=[DEPLOY_ROLE, DEPLOY_ROLE]), stack="prod")
    assert problems == [
        f"nexus:cluster.adminRoleArns: roles are listed twice: ['{DEPLOY_ROLE}', '{DEPLOY_ROLE}']"
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_cluster_is_created_without_creator_admin_and_the_deploy_role_is_an_entry(stack: str) -> None:
    run = run_stack(stack)
    assert run.one(CLUSTER).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    listed = stack_config(stack)["nexus:cluster"]["adminRoleArns"]
    admins = [
        association.inputs["principalArn"]
        for association in run.by_type(ACCESS_POLICY)
        if association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    ]
    assert admins == listed


def _rule_urns(name: str, resources: list[PolicyResource]) -> list[str]:
    rule = next(rule for rule in RULES if rule.name == name)
    return [violation.urn for violation in check_rule(rule, resources)]


def test_the_access_rule_fails_when_creator_admin_is_on_or_no_admin_entry_exists(prod_run: StackRun) -> None:
    graph = from_records(prod_run)
    cluster = next(resource for resource in graph if resource.type == CLUSTER)
    assert _rule_urns("eks-access-entries-only", graph) == []
    creator_on = [
        dataclasses.replace(
            r,
            inputs={
                **r.inputs,
                "accessConfig": {"authenticationMode": "API"},
            },  # the provider's default: true
        )
        if r.urn == cluster.urn
        else r
        for r in graph
    ]
    assert _rule_urns("eks-access-entries-only", creator_on) == [cluster.urn]
    no_admin = [r for r in graph if r.type != ACCESS_POLICY]
    assert _rule_urns("eks-access-entries-only", no_admin) == [cluster.urn]


# --- API access: 443 on the cluster security group ----------------------------------------------------


def test_each_deployer_source_gets_one_443_rule_on_the_cluster_security_group() -> None:
    run = run_stack(
        _with_cluster(
            "prod", apiAccess={"sourceSecurityGroupIds": [RUNNER_SG], "cidrs": ["10.8.0.0/16", "fd00::/64"]}
        ),
        stack="prod",
    )
    cluster_sg = run.one(CLUSTER).outputs["vpcConfig"]["clusterSecurityGroupId"]
    rules = {rule.name: rule.inputs for rule in run.by_type(INGRESS) if "-api-from-" in rule.name}
    assert set(rules) == {
        f"nexus-prod-cluster-api-from-{RUNNER_SG}",
        "nexus-prod-cluster-api-from-10-8-0-0-16",
        "nexus-prod-cluster-api-from-fd00-64",
    }
    for inputs in rules.values():
        assert inputs["securityGroupId"] == cluster_sg
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
    assert rules[f"nexus-prod-cluster-api-from-{RUNNER_SG}"]["referencedSecurityGroupId"] == RUNNER_SG
    assert rules["nexus-prod-cluster-api-from-10-8-0-0-16"]["cidrIpv4"] == "10.8.0.0/16"
    assert rules["nexus-prod-cluster-api-from-fd00-64"]["cidrIpv6"] == "fd00::/64"


def test_adding_a_source_leaves_the_other_rules_as_they_were() -> None:
    one = run_stack(_with_cluster("prod", apiAccess={"cidrs": ["10.8.0.0/16"]}), stack="prod")
    two = run_stack(_with_cluster("prod", apiAccess={"cidrs": ["10.9.0.0/16", "10.8.0.0/16"]}), stack="prod")
    before = {rule.urn: rule.inputs for rule in one.by_type(INGRESS) if "-api-from-" in rule.name}
    after = {rule.urn: rule.inputs for rule in two.by_type(INGRESS) if "-api-from-" in rule.name}
    assert all(after[urn] == inputs for urn, inputs in before.items())
    assert len(after) == 2


def test_a_private_endpoint_no_deployer_can_reach_is_refused() -> None:
    problems = config_problems(_with_cluster("prod", apiAccess=None), stack="prod")
    assert problems == [
        "nexus:cluster.apiAccess: the API endpoint is private (publicAccessCidrs is empty) and the cluster "
        "security group admits only the cluster's own nodes, so pulumi up could not reach it; list the "
        "deployer's security group in apiAccess.sourceSecurityGroupIds or its CIDR in apiAccess.cidrs "
        "(or set publicAccessCidrs)"
    ]


@pytest.mark.parametrize(
    ("api_access", "expected"),
    [
        (
            {"cidrs": ["0.0.0.0/0"]},
            "nexus:cluster.apiAccess.cidrs: 0.0.0.0/0 opens the Kubernetes API to every",
        ),
        ({"cidrs": ["10.8.0.1/16"]}, "nexus:cluster.apiAccess.cidrs: '10.8.0.1/16' is not a CIDR such as"),
        (
            {"sourceSecurityGroupIds": ["sg-xyz"]},
            "nexus:cluster.apiAccess.sourceSecurityGroupIds.0: String should",
        ),
        ({"securityGroups": [RUNNER_SG]}, "nexus:cluster.apiAccess.securityGroups: unknown key"),
    ],
)
def test_bad_api_access_names_the_key(api_access: dict[str, Any], expected: str) -> None:
    problems = config_problems(_with_cluster("prod", apiAccess=api_access), stack="prod")
    assert any(line.startswith(expected) for line in problems), problems


def _rule_ctx(**inputs: object) -> Ctx:
    return Ctx(
        type=INGRESS, name="r", urn=f"urn:pulumi:s::p::{INGRESS}::r", inputs=dict(inputs), region="us-east-1"
    )


def test_the_engine_refuses_an_ingress_rule_without_exactly_one_source() -> None:
    base = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}
    with pytest.raises(EmulationError, match=r"exactly one of .* must be set, got none"):
        emulate(_rule_ctx(**base), lookup(INGRESS))
    with pytest.raises(EmulationError, match="got cidrIpv4, referencedSecurityGroupId"):
        emulate(_rule_ctx(**base, cidrIpv4="10.0.0.0/8", referencedSecurityGroupId="sg-2"), lookup(INGRESS))
    with pytest.raises(EmulationError, match="fromPort and toPort are required"):
        emulate(_rule_ctx(securityGroupId="sg-1", ipProtocol="tcp", cidrIpv4="10.0.0.0/8"), lookup(INGRESS))
    emulate(_rule_ctx(**base, cidrIpv4="10.0.0.0/8"), lookup(INGRESS))
