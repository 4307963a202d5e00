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
