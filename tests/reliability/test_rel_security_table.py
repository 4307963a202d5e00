"""The security table of the platform, row by row, mapped to the policy rules that enforce it.

For every (row, rule) pair, the real prod graph is broken in the way that row forbids, and the rule must
report the broken resource with a message about that row's concern. Together with
tests/policy/test_policy.py (every rule holds on every stack file) this shows that each row is enforced and
that its rules are not vacuous.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from policy import RULES, PolicyResource, check_rule, from_records
from tests.support.harness import run_stack

pytestmark = pytest.mark.infra

Graph = list[PolicyResource]
Breaker = Callable[[Graph], tuple[Graph, str]]
"""Breaks the graph; returns it with the URN the rule must then report."""

SECURITY_TABLE: dict[str, tuple[str, ...]] = {
    "no public data stores": (
        "no-world-data-store",
        "rds-encrypted-private",
        "s3-bucket-baseline",
        "isolated-subnets-offline",
    ),
    "encryption at rest everywhere": (
        "rds-encrypted-private",
        "redis-encrypted-with-auth",
        "s3-bucket-baseline",
        "eks-secrets-encrypted-in-prod",
    ),
    "encryption in transit everywhere": (
        "rds-requires-tls",
        "rds-proxy-requires-tls",
        "redis-encrypted-with-auth",
        "s3-bucket-baseline",
        "alb-tls-in-prod",
    ),
    "least-privilege IAM, no * action on a * resource": ("iam-no-star-on-star", "imdsv2-required"),
    "TLS required on the proxy, Redis and S3": (
        "rds-proxy-requires-tls",
        "redis-encrypted-with-auth",
        "s3-bucket-baseline",
    ),
    # Stack outputs are not part of the resource graph a policy sees: the whole-stack test
    # tests/infra/test_workloads.py::test_no_secret_reaches_a_plain_output_or_a_config_map covers them.
    "secrets never in plain outputs or ConfigMaps": ("k8s-no-secret-in-config-map",),
    "prod data protected": ("prod-rds-protected", "prod-data-retained", "s3-bucket-baseline"),
}


def _first(graph: Graph, type_: str, name_part: str = "") -> PolicyResource:
    return next(r for r in graph if r.type == type_ and name_part in r.name)


def _replace(graph: Graph, target: PolicyResource, **changes: Any) -> Graph:
    edited = dataclasses.replace(target, **changes)
    return [edited if r is target else r for r in graph]


def _with_inputs(graph: Graph, type_: str, name_part: str = "", **inputs: Any) -> tuple[Graph, str]:
    target = _first(graph, type_, name_part)
    return _replace(graph, target, inputs={**target.inputs, **inputs}), target.urn


def _without(graph: Graph, type_: str, name_part: str, owner_type: str, owner_part: str) -> tuple[Graph, str]:
    dropped = _first(graph, type_, name_part)
    return [r for r in graph if r is not dropped], _first(graph, owner_type, owner_part).urn


RDS = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"


def _world_open_rds_group(graph: Graph) -> tuple[Graph, str]:
    rule = _first(graph, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "shard-a")
    inputs = {k: v for k, v in rule.inputs.items() if k != "referencedSecurityGroupId"}
    broken = _replace(graph, rule, inputs={**inputs, "cidrIpv4": "0.0.0.0/0"})
    return broken, _first(graph, RDS, "shard-a-primary").urn


def _tags(resource: PolicyResource) -> dict[str, Any]:
    tags = resource.inputs.get("tags") or {}
    return json.loads(tags) if isinstance(tags, str) else dict(tags)


def _isolated_route_to_internet(graph: Graph) -> tuple[Graph, str]:
    isolated = {
        r.urn for r in graph if r.type == "aws:ec2/subnet:Subnet" and _tags(r).get("nexus:tier") == "isolated"
    }
    association = next(
        r
        for r in graph
        if r.type == "aws:ec2/routeTableAssociation:RouteTableAssociation"
        and set(r.property_dependencies.get("subnetId", ())) & isolated
    )
    table_urn = association.property_dependencies["routeTableId"][0]
    table = next(r for r in graph if r.urn == table_urn)
    routes = [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0123456789abcdef0"}]
    return _replace(graph, table, inputs={**table.inputs, "routes": routes}), table.urn


def _bucket_part_missing(part_type: str) -> Breaker:
    return lambda graph: _without(graph, part_type, "uploads", BUCKET, "uploads")


def _bucket_policy_allows_plain_http(graph: Graph) -> tuple[Graph, str]:
    policy = _first(graph, "aws:s3/bucketPolicy:BucketPolicy", "uploads")
    document = policy.inputs["policy"]
    doc = json.loads(document) if isinstance(document, str) else dict(document)
    doc["Statement"] = [s for s in doc["Statement"] if "aws:SecureTransport" not in json.dumps(s)]
    broken = _replace(graph, policy, inputs={**policy.inputs, "policy": json.dumps(doc)})
    return broken, _first(graph, BUCKET, "uploads").urn


def _star_on_star(graph: Graph) -> tuple[Graph, str]:
    policy = _first(graph, "aws:iam/rolePolicy:RolePolicy")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return _replace(graph, policy, inputs={**policy.inputs, "policy": json.dumps(doc)}), policy.urn


def _force_ssl_off(graph: Graph) -> tuple[Graph, str]:
    group = _first(graph, "aws:rds/parameterGroup:ParameterGroup", "shard-a")
    parameters = [
        {**p, "value": "0"} if p.get("name") == "rds.force_ssl" else p for p in group.inputs["parameters"]
    ]
    broken = _replace(graph, group, inputs={**group.inputs, "parameters": parameters})
    return broken, _first(graph, RDS, "shard-a-replica-0").urn


def _http_listener_forwards(graph: Graph) -> tuple[Graph, str]:
    http = _first(graph, "aws:lb/listener:Listener", "alb-http")
    https = _first(graph, "aws:lb/listener:Listener", "alb-https")
    forward = https.inputs["defaultActions"]
    return _replace(graph, http, inputs={**http.inputs, "defaultActions": forward}), http.urn


def _secret_in_config_map(graph: Graph) -> tuple[Graph, str]:
    config_map = _first(graph, "kubernetes:core/v1:ConfigMap")
    secret = _first(graph, "kubernetes:core/v1:Secret")
    value = next(v for v in secret.inputs["stringData"].values() if isinstance(v, str) and len(v) >= 8)
    data = {**config_map.inputs["data"], "SOMETHING": value}
    return _replace(graph, config_map, inputs={**config_map.inputs, "data": data}), config_map.urn


def _unprotected(type_: str, name_part: str) -> Breaker:
    def brk(graph: Graph) -> tuple[Graph, str]:
        target = _first(graph, type_, name_part)
        return _replace(graph, target, protect=False), target.urn

    return brk


BREAKERS: dict[tuple[str, str], tuple[Breaker, str]] = {
    # (row, rule): (how the graph is broken, a word the rule's message must contain)
    ("no public data stores", "no-world-data-store"): (_world_open_rds_group, "0.0.0.0/0"),
    ("no public data stores", "rds-encrypted-private"): (
        lambda g: _with_inputs(g, RDS, "shard-b-primary", publiclyAccessible=True),
        "publicly accessible",
    ),
    ("no public data stores", "s3-bucket-baseline"): (
        _bucket_part_missing("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
        "PublicAccessBlock",
    ),
    ("no public data stores", "isolated-subnets-offline"): (_isolated_route_to_internet, "internet"),
    ("encryption at rest everywhere", "rds-encrypted-private"): (
        lambda g: _with_inputs(g, RDS, "shard-a-primary", storageEncrypted=False),
        "not encrypted",
    ),
    ("encryption at rest everywhere", "redis-encrypted-with-auth"): (
        lambda g: _with_inputs(g, REDIS, "", atRestEncryptionEnabled=False),
        "atRestEncryptionEnabled",
    ),
    ("encryption at rest everywhere", "s3-bucket-baseline"): (
        _bucket_part_missing(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ),
        "server-side encryption",
    ),
    ("encryption at rest everywhere", "eks-secrets-encrypted-in-prod"): (
        lambda g: _with_inputs(g, "aws:eks/cluster:Cluster", "", encryptionConfig=None),
        "KMS",
    ),
    ("encryption in transit everywhere", "rds-requires-tls"): (_force_ssl_off, "rds.force_ssl"),
    ("encryption in transit everywhere", "rds-proxy-requires-tls"): (
        lambda g: _with_inputs(g, "aws:rds/proxy:Proxy", "shard-a", requireTls=False),
        "TLS",
    ),
    ("encryption in transit everywhere", "redis-encrypted-with-auth"): (
        lambda g: _with_inputs(g, REDIS, "", transitEncryptionMode="preferred"),
        "transitEncryptionMode",
    ),
    ("encryption in transit everywhere", "s3-bucket-baseline"): (_bucket_policy_allows_plain_http, "TLS"),
    ("encryption in transit everywhere", "alb-tls-in-prod"): (_http_listener_forwards, "redirect"),
    ("least-privilege IAM, no * action on a * resource", "iam-no-star-on-star"): (
        _star_on_star,
        "every action",
    ),
    ("least-privilege IAM, no * action on a * resource", "imdsv2-required"): (
        lambda g: _with_inputs(
            g,
            "aws:ec2/launchTemplate:LaunchTemplate",
            "",
            metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 2},
        ),
        "IMDSv2",
    ),
    ("TLS required on the proxy, Redis and S3", "rds-proxy-requires-tls"): (
        lambda g: _with_inputs(g, "aws:rds/proxy:Proxy", "shard-b", requireTls=None),
        "without TLS",
    ),
    ("TLS required on the proxy, Redis and S3", "redis-encrypted-with-auth"): (
        lambda g: _with_inputs(g, REDIS, "", transitEncryptionEnabled=False),
        "transitEncryptionEnabled",
    ),
    ("TLS required on the proxy, Redis and S3", "s3-bucket-baseline"): (
        _bucket_part_missing("aws:s3/bucketPolicy:BucketPolicy"),
        "without TLS",
    ),
    ("secrets never in plain outputs or ConfigMaps", "k8s-no-secret-in-config-map"): (
        _secret_in_config_map,
        "value of a Secret",
    ),
    ("prod data protected", "prod-rds-protected"): (_unprotected(RDS, "shard-a-primary"), "protect"),
    ("prod data protected", "prod-data-retained"): (
        lambda g: _with_inputs(g, RDS, "shard-b-primary", backupRetentionPeriod=1),
        "backups",
    ),
    ("prod data protected", "s3-bucket-baseline"): (
        _bucket_part_missing("aws:s3/bucketVersioning:BucketVersioning"),
        "versioning",
    ),
}

PAIRS = [(row, rule) for row, rules in SECURITY_TABLE.items() for rule in rules]


def test_every_row_has_rules_that_exist() -> None:
    names = {rule.name for rule in RULES}
    for row, rules in SECURITY_TABLE.items():
        assert rules, row
        assert set(rules) <= names, (row, set(rules) - names)


def test_every_pair_has_a_breaker() -> None:
    assert set(BREAKERS) == set(PAIRS)


@pytest.fixture(scope="module")
def prod_graph() -> Graph:
    return from_records(run_stack("prod"))


@pytest.mark.parametrize(("row", "rule_name"), PAIRS, ids=[f"{row}:{rule}" for row, rule in PAIRS])
def test_each_rule_of_a_row_fails_when_the_row_is_broken(prod_graph: Graph, row: str, rule_name: str) -> None:
    rule = next(r for r in RULES if r.name == rule_name)
    assert check_rule(rule, prod_graph) == [], "the rule holds on the real prod stack"
    breaker, word = BREAKERS[(row, rule_name)]
    broken, urn = breaker(prod_graph)
    violations = check_rule(rule, broken)
    reported = [v for v in violations if v.urn == urn]
    assert reported, f"{rule_name} missed the broken resource {urn}: {violations}"
    assert any(word.lower() in v.message.lower() for v in reported), reported
