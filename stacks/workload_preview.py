"""The preview's workloads section: what each Deployment asks for, how it scales and stops, the migration Job
of this deploy, and the verdict of the workload rules (``policy.workloads``, the rules the policy pack runs).

Presentation only: the rules live in policy/; this module reads the recorded run and prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from offline import StackRun
from policy import Violation, check_all, from_records
from policy.workloads import WORKLOAD_RULES
from stacks.config import StackConfig


def recorded_manifests(run: StackRun) -> list[dict[str, Any]]:
    """The Kubernetes manifests of a recorded run: each typed object's inputs, with the name the provider
    generated for auto-named ones. Helm releases and providers are left out."""
    manifests = []
    for resource in run.resources:
        inputs = resource.inputs
        if not resource.type.startswith("kubernetes:") or "kind" not in inputs or "apiVersion" not in inputs:
            continue
        manifest = dict(inputs)
        metadata = dict(manifest.get("metadata") or {})
        metadata.setdefault("name", (resource.outputs.get("metadata") or {}).get("name"))
        manifest["metadata"] = metadata
        manifests.append(manifest)
    return manifests


def _of_kind(manifests: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [item for item in manifests if item.get("kind") == kind]


def summary_lines(manifests: Sequence[Mapping[str, Any]], violations: Sequence[Violation]) -> list[str]:
    """The section's lines from the manifests and what the workload rules found."""
    if not _of_kind(manifests, "Deployment"):
        return []
    hpas = {
        (hpa.get("spec") or {}).get("scaleTargetRef", {}).get("name"): hpa.get("spec") or {}
        for hpa in _of_kind(manifests, "HorizontalPodAutoscaler")
    }
    lines = []
    for deployment in _of_kind(manifests, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment.get("spec", {}).get("template", {}).get("spec", {})
        box = (pod.get("containers") or [{}])[0]
        resources = box.get("resources") or {}
        env = {item.get("name"): item.get("value") for item in box.get("env") or []}
        hpa = hpas.get(name) or {}
        target = (((hpa.get("metrics") or [{}])[0].get("resource") or {}).get("target") or {}).get(
            "averageUtilization"
        )
        sleep = (((box.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds")
        stop = f"preStop {sleep} s, " if sleep is not None else ""
        lines.append(
            f"{name:<8} requests {resources.get('requests')} limits {resources.get('limits')}"
            + (f" workers {env['NEXUS_WORKERS']}" if "NEXUS_WORKERS" in env else "")
        )
        rolling = (deployment.get("spec", {}).get("strategy") or {}).get("rollingUpdate") or {}
        surge = (
            f"; rollout maxSurge {rolling.get('maxSurge')} above it (Node capacity counts it)"
            if rolling.get("maxSurge")
            else ""
        )
        lines.append(
            f"{'':<8} HPA {hpa.get('minReplicas')}-{hpa.get('maxReplicas')} pods at {target}% CPU{surge}; "
            f"{stop}grace {pod.get('terminationGracePeriodSeconds')} s"
        )
    for job in _of_kind(manifests, "Job"):
        lines.append(f"migration Job {job['metadata']['name']} (runs before the Deployments roll)")
    lines.append(
        f"workload rules: {len(WORKLOAD_RULES)} checked, "
        + (f"{len(violations)} broken" if violations else "all hold")
    )
    lines.extend(f"  ! [{v.rule}] {v.urn.rsplit('::', 1)[-1]}: {v.message}" for v in violations)
    return lines


def preview_lines(config: StackConfig, run: StackRun) -> list[str]:
    """The workloads section of the readable preview (``config`` is unused: the rules read the graph)."""
    del config
    return summary_lines(recorded_manifests(run), check_all(from_records(run), WORKLOAD_RULES))
