"""The preview's workloads section (stacks/workload_preview.py): what it prints for dev and prod, and a broken
workload rule named under it."""

from __future__ import annotations

from typing import Any

import pytest

from policy import check_all
from policy.workloads import WORKLOAD_RULES
from stacks import workload_preview
from stacks.config.loader import load_stack_file
from tests.support.harness import PROJECT_DIR, graph_with_inputs
from tests.support.workloads import run_workloads

pytestmark = pytest.mark.infra

Manifests = list[dict[str, Any]]


def test_the_preview_rebuilds_the_same_manifests(stack: str, manifests: Manifests) -> None:
    assert workload_preview.recorded_manifests(run_workloads(stack)) == manifests


def test_the_preview_shows_sizes_scaling_and_the_rules_verdict(stack: str) -> None:
    config = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    lines = workload_preview.preview_lines(config, run_workloads(stack))
    text = "\n".join(lines)
    api = config.api
    assert (
        f"HPA {api.min_replicas}-{api.max_replicas} pods at {api.target_cpu_utilization}% CPU; "
        "rollout maxSurge 25% above it (Node capacity counts it)"
    ) in text
    assert f"workers {api.worker_processes}" in text
    assert lines[-1] == f"workload rules: {len(WORKLOAD_RULES)} checked, all hold"


def test_the_preview_names_a_broken_rule() -> None:
    """A slower ALB than the pods' preStop: the rule's verdict, read from the graph, is printed."""
    run = run_workloads("dev")
    graph = graph_with_inputs(
        run, lambda r: r.type == "aws:lb/targetGroup:TargetGroup", deregistrationDelay=120
    )
    lines = workload_preview.summary_lines(
        workload_preview.recorded_manifests(run), check_all(graph, WORKLOAD_RULES)
    )
    assert lines[-2] == f"workload rules: {len(WORKLOAD_RULES)} checked, 1 broken"
    assert lines[-1].startswith("  ! [k8s-pre-stop-covers-deregistration] nexus-dev-workloads-api: ")
    assert lines[-1].endswith("preStop sleep 15 is under the 120 s the ALB needs to stop sending")
