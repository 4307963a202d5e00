"""The test harness: run any stack file or config dict under the offline engine and read what it recorded.

    run = run_stack("Pulumi.prod.yaml")   # or run_stack({"aws:region": ..., "nexus:...": ...}, stack="x")
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.40.0.0/16"
    assert run.children_of(vpc.parent)                 # resources under the Network component
    problems = config_problems({... bad config ...})   # the RunError lines; asserts nothing was registered
    config = stack_config("dev")                       # a stack file's config: map, to vary and run
    raw = with_changes("dev", worker={"cpu": 250})     # as the engine hands it to the program (JSON)

Runs are deterministic, so identical inputs are cached for the session (a StackRun is immutable).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from offline import RecordedResource, StackRun, run_config, run_stack_file
from stacks.config import read_stack_file

PROJECT_DIR = Path(__file__).resolve().parents[2]
STACK_FILES = tuple(sorted(PROJECT_DIR.glob("Pulumi.*.yaml")))
PROJECT_NAME: str = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]
"""The project's name as Pulumi.yaml gives it (URNs are ``urn:pulumi:<stack>::<project>::...``)."""

__all__ = [
    "PROJECT_DIR",
    "PROJECT_NAME",
    "STACK_FILES",
    "RecordedResource",
    "StackRun",
    "bootstrap_config",
    "config_problems",
    "raw_stack_config",
    "run_bootstrap",
    "run_stack",
    "run_update",
    "stack_config",
    "with_changes",
]


def stack_file(stack: str) -> Path:
    """``Pulumi.<stack>.yaml`` of the project."""
    return PROJECT_DIR / f"Pulumi.{stack}.yaml"


def stack_config(stack: str) -> dict[str, Any]:
    """A stack file's ``config:`` map (a fresh deep copy), to vary and hand to ``run_stack``."""
    document = yaml.safe_load(stack_file(stack).read_text())
    return copy.deepcopy(dict(document["config"]))


def raw_stack_config(stack: str) -> dict[str, str]:
    """A stack file's config as the engine hands it to the program (structured values JSON-encoded)."""
    return read_stack_file(stack_file(stack))


def with_changes(stack: str, **sections: Mapping[str, Any]) -> dict[str, str]:
    """The stack's raw config with ``nexus:<section>`` keys merged (shallow, per section)."""
    raw = raw_stack_config(stack)
    for section, changes in sections.items():
        key = f"nexus:{section}"
        current = json.loads(raw[key]) if key in raw else {}
        raw[key] = json.dumps({**current, **changes})
    return raw


def run_stack(
    source: str | Path | Mapping[str, Any], *, stack: str | None = None, cache: bool = True
) -> StackRun:
    """Run the project with a stack file (path, or a bare name such as ``"prod"``) or a config dict, as
    ``pulumi preview`` runs it (a dry run).

    A dict is written like a stack file's ``config:`` map (``{"aws:region": "us-east-1", "nexus:shards":
    {...}}``); ``stack`` names the stack (default ``test``). ``cache=False`` forces a fresh run.
    """
    if isinstance(source, Mapping):
        key = json.dumps(source, sort_keys=True)
        return (_cached_config if cache else _config_run)(key, stack or "test")
    path = Path(source)
    if not path.suffix:  # a bare stack name
        path = PROJECT_DIR / f"Pulumi.{source}.yaml"
    elif not path.is_absolute():
        path = PROJECT_DIR / path
    return (_cached_file if cache else _file_run)(str(path), stack)


def run_update(source: str | Path | Mapping[str, Any], *, stack: str | None = None) -> StackRun:
    """Run as ``pulumi up`` does (not a dry run, so example values are refused); ``run_stack`` runs as
    ``pulumi preview``. Never cached."""
    if isinstance(source, Mapping):
        return run_config(dict(source), project_dir=PROJECT_DIR, stack=stack or "test", dry_run=False)
    path = Path(source)
    path = PROJECT_DIR / f"Pulumi.{source}.yaml" if not path.suffix else PROJECT_DIR / path
    return run_stack_file(path, project_dir=PROJECT_DIR, stack=stack, dry_run=False)


BOOTSTRAP_DIR = PROJECT_DIR / "bootstrap"


def bootstrap_config(stack: str) -> dict[str, Any]:
    """``bootstrap/Pulumi.<stack>.yaml``'s ``config:`` map (a fresh copy), to vary for run_bootstrap."""
    document = yaml.safe_load((BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(dict(document["config"]))


def run_bootstrap(
    stack: str,
    config: Mapping[str, Any] | None = None,
    *,
    dry_run: bool = True,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackRun:
    """Run the account bootstrap (bootstrap/) with its stack file, or with ``config`` written like one."""
    if config is None:
        return run_stack_file(
            BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml",
            project_dir=BOOTSTRAP_DIR,
            stack=stack,
            dry_run=dry_run,
            stack_outputs=stack_outputs,
        )
    return run_config(
        dict(config), project_dir=BOOTSTRAP_DIR, stack=stack, dry_run=dry_run, stack_outputs=stack_outputs
    )


def config_problems(source: str | Path | Mapping[str, Any], *, stack: str | None = None) -> list[str]:
    """The problem lines of a config the program must refuse; fails if it runs or registers anything."""
    run = run_stack(source, stack=stack, cache=False)
    assert run.error is not None, "expected the program to refuse this config, but it ran"
    assert not run.resources, (
        f"resources were registered before the config was refused: {[r.urn for r in run]}"
    )
    lines = run.error.splitlines()
    return [line.strip() for line in lines[1:]] if len(lines) > 1 else [line.strip() for line in lines]


def _file_run(path: str, stack: str | None) -> StackRun:
    return run_stack_file(path, project_dir=PROJECT_DIR, stack=stack, dry_run=True)


def _config_run(key: str, stack: str) -> StackRun:
    return run_config(json.loads(key), project_dir=PROJECT_DIR, stack=stack, dry_run=True)


_cached_file = lru_cache(maxsize=64)(_file_run)
_cached_config = lru_cache(maxsize=128)(_config_run)


def graph_with_inputs(run: StackRun, match: Callable[[Any], bool], **inputs: Any) -> list[Any]:
    """The run's policy graph with some inputs of the matching resources replaced (None drops the key).

    For showing that a policy rule fails on a broken graph; it asserts that the edit matched something.
    """
    from policy import from_records  # the policy package imports nothing from the tests

    resources = from_records(run)
    edited = []
    for resource in resources:
        if match(resource):
            changed = {**resource.inputs, **inputs}
            resource = dataclasses.replace(
                resource, inputs={k: v for k, v in changed.items() if v is not None}
            )
        edited.append(resource)
    assert edited != resources, "the edit matched nothing"
    return edited
