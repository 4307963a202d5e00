"""Runs of the workloads component under the offline engine, and the manifests rebuilt from them.

``run_workloads`` runs the real program (the whole composition, as ``pulumi up`` runs it) with a stack file's
config, or with that config changed; ``manifests_of`` turns the recorded inputs of every Kubernetes resource
back into the manifest the provider would apply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from offline import RecordedResource, StackRun, run_program
from tests.support.harness import PROJECT_DIR, PROJECT_NAME, raw_stack_config

K8S_PREFIX = "kubernetes:"
PROVIDER_TYPE = "pulumi:providers:kubernetes"


def run_workloads(stack: str, raw: Mapping[str, str] | None = None) -> StackRun:
    """The whole program with the stack's config (or ``raw`` config given as the engine passes it)."""
    key = json.dumps(dict(raw if raw is not None else raw_stack_config(stack)), sort_keys=True)
    return _run(stack, key)


@lru_cache(maxsize=32)
def _run(stack: str, config_json: str) -> StackRun:
    run = StackRun.of(
        run_program(
            PROJECT_DIR,
            project=PROJECT_NAME,
            stack=stack,
            config=json.loads(config_json),
            main=".",
            dry_run=True,
        )
    )
    assert run.raw.error is None, run.raw.error
    return run


def k8s_resources(run: StackRun, within: RecordedResource | None = None) -> list[RecordedResource]:
    """Every Kubernetes object (not the provider, not a helm release), sorted by URN; only the descendants of
    ``within`` when given."""
    pool = run.resources if within is None else run.descendants_of(within)
    return [
        r for r in pool if r.type.startswith(K8S_PREFIX) and r.type != PROVIDER_TYPE and "kind" in r.inputs
    ]


def manifest_of(resource: RecordedResource) -> dict[str, Any]:
    """The manifest a Kubernetes resource applies: its inputs, with the name the provider generated."""
    manifest = copy.deepcopy(dict(resource.inputs))
    metadata = manifest.setdefault("metadata", {})
    if "name" not in metadata:
        metadata["name"] = resource.outputs["metadata"]["name"]
    return manifest


def manifests_of(run: StackRun, within: RecordedResource | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes manifest of a run (of the descendants of ``within`` when given)."""
    return [manifest_of(resource) for resource in k8s_resources(run, within)]


def by_kind(manifests: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one manifest of a kind (and name)."""
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def write_manifests(manifests: list[dict[str, Any]], directory: Path) -> None:
    """One YAML file per object, as ``kubectl apply -f DIR`` (or checkov) would read them."""
    directory.mkdir(parents=True, exist_ok=True)
    for manifest in manifests:
        name = f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
