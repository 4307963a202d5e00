"""The cluster branch's policy rules: each holds on every stack (tests/policy/test_policy.py runs them all)
and fails on the real prod graph broken on purpose."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from policy import RULES, PolicyResource, Violation, check_rule

pytestmark = pytest.mark.infra


@pytest.fixture
def graph(prod_graph: list[PolicyResource]) -> list[PolicyResource]:
    return prod_graph


def violations(name: str, resources: list[PolicyResource]) -> list[Violation]:
    return check_rule(next(rule for rule in RULES if rule.name == name), resources)


def edit(
    resources: list[PolicyResource], match: Callable[[PolicyResource], bool], **changes: Any
) -> list[PolicyResource]:
    edited = [dataclasses.replace(r, **changes) if match(r) else r for r in resources]
    assert edited != resources, "the edit matched nothing"
    return edited


def one(resources: list[PolicyResource], type_: str, suffix: str = "") -> PolicyResource:
    found = [r for r in resources if r.type == type_ and r.name.endswith(suffix)]
    assert len(found) == 1, [r.urn for r in found]
    return found[0]


def test_a_node_group_without_the_cluster_version_is_refused(graph: list[PolicyResource]) -> None:
    assert violations("eks-versions-follow-the-cluster", graph) == []
    group = next(r for r in graph if r.type == "aws:eks/nodeGroup:NodeGroup")
    unpinned = {k: v for k, v in group.inputs.items() if k != "version"}
    broken = edit(graph, lambda r: r.urn == group.urn, inputs=unpinned)
    assert [v.urn for v in violations("eks-versions-follow-the-cluster", broken)] == [group.urn]
    behind = edit(graph, lambda r: r.urn == group.urn, inputs={**group.inputs, "version": "1.33"})
    assert [v.urn for v in violations("eks-versions-follow-the-cluster", behind)] == [group.urn]


def test_an_addon_without_a_version_is_refused(graph: list[PolicyResource]) -> None:
    addon = one(graph, "aws:eks/addon:Addon", "kube-proxy")
    unpinned = {k: v for k, v in addon.inputs.items() if k != "addonVersion"}
    broken = edit(graph, lambda r: r.urn == addon.urn, inputs=unpinned, property_dependencies={})
    assert [v.urn for v in violations("eks-versions-follow-the-cluster", broken)] == [addon.urn]


def test_network_policies_without_the_cni_agent_are_refused(graph: list[PolicyResource]) -> None:
    policies = sorted(r.urn for r in graph if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert len(policies) == 4
    assert violations("network-policies-enforced", graph) == []
    cni = one(graph, "aws:eks/addon:Addon", "vpc-cni")
    plain = {k: v for k, v in cni.inputs.items() if k != "configurationValues"}
    broken = edit(graph, lambda r: r.urn == cni.urn, inputs=plain)
    assert sorted(v.urn for v in violations("network-policies-enforced", broken)) == policies
    off = edit(
        graph,
        lambda r: r.urn == cni.urn,
        inputs={**plain, "configurationValues": '{"enableNetworkPolicy": "false"}'},
    )
    assert len(violations("network-policies-enforced", off)) == 4


def test_lb_controller_crds_must_be_pinned_to_the_chart(graph: list[PolicyResource]) -> None:
    release = next(
        r
        for r in graph
        if r.type == "kubernetes:helm.sh/v3:Release"
        and r.inputs.get("chart") == "aws-load-balancer-controller"
    )
    crds = one(graph, "kubernetes:yaml/v2:ConfigFile")
    assert crds.urn in release.dependencies
    assert violations("chart-crds-managed", graph) == []
    helm_owned = edit(graph, lambda r: r.urn == release.urn, inputs={**release.inputs, "skipCrds": False})
    assert [v.urn for v in violations("chart-crds-managed", helm_owned)] == [release.urn]
    # A chart bump whose CRDs stay at the old tag: the controller would run against stale CRDs.
    stale = crds.inputs["file"].replace("/v2.14.0/", "/v2.13.0/")
    old_crds = edit(graph, lambda r: r.urn == crds.urn, inputs={**crds.inputs, "file": stale})
    found = violations("chart-crds-managed", old_crds)
    assert [v.urn for v in found] == [release.urn]
    assert "v2.13.0" in found[0].message
    unknown = edit(graph, lambda r: r.urn == release.urn, inputs={**release.inputs, "version": "9.9.9"})
    assert "no CRD source known" in violations("chart-crds-managed", unknown)[0].message


def test_a_multi_az_node_group_or_an_unbalanced_autoscaler_is_refused(graph: list[PolicyResource]) -> None:
    assert violations("node-groups-one-zone-each", graph) == []
    group = next(r for r in graph if r.type == "aws:eks/nodeGroup:NodeGroup")
    subnets = sorted(
        {s.id for s in graph if s.type == "aws:ec2/subnet:Subnet" and "-private-" in s.name if s.id}
    )
    spanning = edit(graph, lambda r: r.urn == group.urn, inputs={**group.inputs, "subnetIds": subnets})
    assert [v.urn for v in violations("node-groups-one-zone-each", spanning)] == [group.urn]
    autoscaler = next(
        r
        for r in graph
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == "cluster-autoscaler"
    )
    values = autoscaler.inputs["values"]
    unbalanced = {**values, "extraArgs": {k: v for k, v in values["extraArgs"].items() if "balance" not in k}}
    broken = edit(
        graph, lambda r: r.urn == autoscaler.urn, inputs={**autoscaler.inputs, "values": unbalanced}
    )
    assert [v.urn for v in violations("node-groups-one-zone-each", broken)] == [autoscaler.urn]
