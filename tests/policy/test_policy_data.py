"""Policy rules of issue 14 (ALB access-log grant, creation order), broken on purpose on the real prod graph.

That they hold on every stack is tests/policy/test_policy.py's ``test_rule_holds_on_every_stack``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import Emulation, register, run_config
from policy import PolicyResource, from_records
from policy.core import Graph, waits_for
from tests.support.harness import StackRun
from tests.support.policy_edits import edit as _edit
from tests.support.policy_edits import violations as _violations

pytestmark = pytest.mark.infra

LB = "aws:lb/loadBalancer:LoadBalancer"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@pytest.fixture
def graph(prod_run: StackRun) -> list[PolicyResource]:
    return from_records(prod_run)


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


# --- creation order: eks-resources-wait-for-cluster, role-policies-before-use -----------------------------

CLUSTER = "aws:eks/cluster:Cluster"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PROXY = "aws:rds/proxy:Proxy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _without_dependency(resources: list[PolicyResource], urn: str, dropped: str) -> list[PolicyResource]:
    resource = next(r for r in resources if r.urn == urn)
    return _edit(
        resources,
        lambda r: r.urn == urn,
        dependencies=tuple(d for d in resource.dependencies if d != dropped),
        property_dependencies={
            k: tuple(d for d in v if d != dropped) for k, v in resource.property_dependencies.items()
        },
    )


def test_the_lb_controller_association_waits_for_the_cluster_through_its_parent(
    graph: list[PolicyResource],
) -> None:
    cluster = _one(graph, CLUSTER)
    association = _one(graph, ASSOCIATION, "lb-controller")
    controller = next(r for r in graph if r.urn == association.parent)
    # Its cluster name is a plain string: only the controller component's dependency orders it.
    assert cluster.urn not in association.dependencies
    assert cluster.urn in controller.dependencies
    broken = _without_dependency(graph, controller.urn, cluster.urn)  # today's code
    violations = _violations("eks-resources-wait-for-cluster", broken)
    assert association.urn in {v.urn for v in violations}
    assert "CREATING" in violations[0].message
    # Everything else under the controller still waits: the helm release through the Kubernetes provider.
    assert _one(graph, "kubernetes:helm.sh/v3:Release", "lb-controller").urn not in {
        v.urn for v in violations
    }


def test_kubernetes_resources_wait_for_the_cluster_through_their_provider(
    graph: list[PolicyResource],
) -> None:
    cluster = _one(graph, CLUSTER)
    provider = _one(graph, "pulumi:providers:kubernetes")
    assert cluster.urn in provider.dependencies  # the kubeconfig comes from the cluster's outputs
    broken = _without_dependency(graph, provider.urn, cluster.urn)
    flagged = {v.urn for v in _violations("eks-resources-wait-for-cluster", broken)}
    assert provider.urn in flagged
    namespace = _one(graph, "kubernetes:core/v1:Namespace")
    assert namespace.urn not in flagged  # it also waits for the node groups, which wait for the cluster
    assert _one(graph, "kubernetes:helm.sh/v3:Release", "autoscaler").urn not in flagged


def test_an_eks_child_named_by_a_plain_string_is_refused(graph: list[PolicyResource]) -> None:
    cluster = _one(graph, CLUSTER)
    loose = PolicyResource(
        urn=cluster.urn.rsplit("::", 1)[0].replace(CLUSTER, "aws:eks/addon:Addon") + "::loose",
        type="aws:eks/addon:Addon",
        name="loose",
        inputs={"clusterName": cluster.inputs["name"], "addonName": "x"},
        parent=cluster.parent,
    )
    assert [v.urn for v in _violations("eks-resources-wait-for-cluster", [*graph, loose])] == [loose.urn]


def test_the_proxy_waits_for_its_roles_policy(graph: list[PolicyResource]) -> None:
    proxy = _one(graph, PROXY, "shard-a")
    policy = _one(graph, ROLE_POLICY, "shard-a-proxy-secret-access")
    assert _violations("role-policies-before-use", graph) == []
    violations = _violations("role-policies-before-use", _without_dependency(graph, proxy.urn, policy.urn))
    assert [v.urn for v in violations] == [proxy.urn]
    assert policy.name in violations[0].message


def test_pod_identity_associations_wait_for_their_roles_policy(graph: list[PolicyResource]) -> None:
    association = _one(graph, ASSOCIATION, "workloads-api")
    policy = _one(graph, ROLE_POLICY, "workloads-api-policy")
    broken = _without_dependency(graph, association.urn, policy.urn)
    assert [v.urn for v in _violations("role-policies-before-use", broken)] == [association.urn]


def test_waits_for_follows_dependencies_parents_and_providers() -> None:
    def res(name: str, **kw: object) -> PolicyResource:
        return PolicyResource(urn=f"u::{name}", type="t:m:T", name=name, inputs={}, **kw)  # type: ignore[arg-type]

    graph = Graph(
        [
            res("a"),
            res("b", dependencies=("u::a",)),
            res("comp", custom=False, dependencies=("u::b",)),
            res("child", parent="u::comp"),
            res("prov", dependencies=("u::x",)),
            res("x"),
            res("via-provider", provider="u::prov"),
            res("alone", dependencies=("u::x",)),
        ]
    )
    assert waits_for(graph, graph.get("u::child")) == {"u::comp", "u::b", "u::a"}  # type: ignore[arg-type]
    assert waits_for(graph, graph.get("u::via-provider")) == {"u::prov", "u::x"}  # type: ignore[arg-type]
    assert "u::a" not in waits_for(graph, graph.get("u::alone"))  # type: ignore[arg-type]


# The premise of waits_for, checked against the SDK itself: a probe resource reports which buckets the cloud
# had already created when it was created. A child of a component that depends_on a bucket sees it; a probe
# created before the bucket does not; one whose provider waits for the bucket sees it too.

ORDER_PROGRAM = """
import pulumi
import pulumi_aws as aws


class Probe(pulumi.CustomResource):
    def __init__(self, name, opts=None):
        super().__init__("aws:order/probe:Probe", name, {"seen": None}, opts)


class Comp(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("order:index:Comp", name, None, opts)
        Probe(f"{name}-child", pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


free = Probe("free")
# Created only once "free" is: so "free" cannot have seen it, whatever the timing.
slow = aws.s3.Bucket("slow", bucket=free.id.apply(lambda _: "slow-bucket"))
Comp("after", opts=pulumi.ResourceOptions(depends_on=[slow]))
provider = aws.Provider("late", region=slow.bucket.apply(lambda _: "us-east-1"))
Probe("via-provider", pulumi.ResourceOptions(provider=provider))
"""


def test_the_sdk_waits_for_parents_dependencies_and_providers(tmp_path: Path) -> None:
    register(
        Emulation(
            type="aws:order/probe:Probe",
            compute=lambda ctx: {
                "seen": sorted(str(s.get("bucket")) for s in ctx.created("aws:s3/bucket:Bucket"))
            },
        )
    )
    (tmp_path / "Pulumi.yaml").write_text("name: order\nruntime: python\nmain: .\n")
    (tmp_path / "__main__.py").write_text(ORDER_PROGRAM)
    run = run_config({}, project_dir=tmp_path, stack="t")
    seen = {probe.name: probe.outputs["seen"] for probe in run.by_type("aws:order/probe:Probe")}
    assert seen == {"after-child": ["slow-bucket"], "free": [], "via-provider": ["slow-bucket"]}
    graph = Graph(from_records(run))
    slow = run.one("aws:s3/bucket:Bucket", "slow").urn
    probes = {name: graph.get(run.one("aws:order/probe:Probe", name).urn) for name in seen}
    waiting = {
        name for name, probe in probes.items() if probe is not None and slow in waits_for(graph, probe)
    }
    assert waiting == {"after-child", "via-provider"}  # what the policy rules assume is what the SDK did
