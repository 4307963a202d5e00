"""The plan both judges read: the offline engine's run of a stack, reduced to its AWS resources.

One normalisation for every judge: each ``aws:*`` custom resource with its inputs as sent and its state
(inputs plus what the emulated cloud computed: auto-names, ids, ARNs), with every secret replaced by a
placeholder of the same length and every unknown by a placeholder of a valid form, plus the provider's region
and default tags. The renderers (``cloudformation``, ``terraform``) only reshape this.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline import StackRun, run_stack_file
from offline.values import is_secret, is_unknown

SECRET_FILL = "x"  # noqa: S105  (the fill character, not a password)
"""Secrets keep their length (length limits still apply) but not their content (templates get printed)."""


@dataclass(frozen=True, slots=True)
class PlanResource:
    """One AWS resource of the plan."""

    urn: str
    type: str
    name: str
    """Pulumi's logical name."""
    id: str
    """The physical id the emulated provider assigned."""
    inputs: Mapping[str, Any]
    """Inputs as the program sent them (camelCase), secrets and unknowns replaced by placeholders."""
    state: Mapping[str, Any]
    """Inputs plus what the cloud computes (auto-names such as ``name`` or ``identifier``, ARNs)."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Input name -> URNs of the resources whose outputs it was built from (the references between them)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The AWS part of one stack's plan."""

    project: str
    stack: str
    region: str
    default_tags: Mapping[str, str]
    resources: tuple[PlanResource, ...]
    other_types: Mapping[str, int] = field(default_factory=dict)
    """Types outside the AWS provider (Kubernetes, random, components, providers): no AWS judge reads them."""

    def __iter__(self) -> Iterator[PlanResource]:
        return iter(self.resources)

    def by_type(self, type_: str) -> list[PlanResource]:
        """Every resource of a type token."""
        return [resource for resource in self.resources if resource.type == type_]


_ARN_KEY = re.compile(r"(Arn|ARN|arn)s?$")


def placeholder(key: str) -> str:
    """A value of a valid form for an output the engine would only know after the update (by input name)."""
    if _ARN_KEY.search(key):
        return "arn:aws:iam::123456789012:role/placeholder"
    if key.endswith(("Id", "Ids")):
        return "placeholder-0123456789abcdef0"
    return "placeholder"


def _clean(value: Any, key: str = "") -> Any:
    if is_secret(value):
        plain = _clean(value["value"], key)
        return SECRET_FILL * len(plain) if isinstance(plain, str) else plain
    if is_unknown(value):
        return placeholder(key)
    if isinstance(value, dict):
        return {k: _clean(item, str(k)) for k, item in value.items()}
    if isinstance(value, list):
        return [_clean(item, key) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plan_of(run: StackRun) -> Plan:
    """The plan of an engine run (the run must have completed)."""
    if run.error is not None:
        raise ValueError(f"the program refused the stack config: {run.error}")
    region, default_tags = "us-east-1", {}
    resources: list[PlanResource] = []
    others: Counter[str] = Counter()
    for resource in run.resources:
        record = resource.record
        if record.type == "pulumi:providers:aws":
            region = str(record.inputs.get("region") or region)
            tags = json.loads(str(record.inputs.get("defaultTags") or "{}")).get("tags") or {}
            default_tags = {str(k): str(v) for k, v in tags.items()}
        if not record.type.startswith("aws:") or not record.custom:
            others[record.type] += 1
            continue
        resources.append(
            PlanResource(
                urn=record.urn,
                type=record.type,
                name=record.name,
                id=str(record.id),
                inputs=_clean(dict(record.inputs)),
                state={**_clean(dict(record.inputs)), **_clean(dict(record.outputs))},
                dependencies=tuple(record.dependencies),
                property_dependencies={k: tuple(v) for k, v in record.property_dependencies.items()},
            )
        )
    return Plan(
        project=run.project,
        stack=run.stack,
        region=region,
        default_tags=default_tags,
        resources=tuple(resources),
        other_types=dict(sorted(others.items())),
    )


BOOTSTRAP_DIR = "bootstrap"
"""The account bootstrap's Pulumi project (its own ``Pulumi.yaml`` and stack files), inside the main one."""
BOOTSTRAP_PREFIX = "bootstrap-"
"""Judged stacks of the bootstrap are named ``bootstrap-<stack>`` (``bootstrap/Pulumi.<stack>.yaml``)."""


def judged_stacks(project_dir: str | Path) -> list[str]:
    """Every stack the judges read: the main project's, then the bootstrap's as ``bootstrap-<stack>``."""

    def stacks(directory: Path) -> list[str]:
        return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in directory.glob("Pulumi.*.yaml"))

    root = Path(project_dir)
    return stacks(root) + [BOOTSTRAP_PREFIX + name for name in stacks(root / BOOTSTRAP_DIR)]


def load_judged_plan(stack: str, project_dir: str | Path) -> Plan:
    """The plan of a judged stack: ``<stack>`` of the main project or ``bootstrap-<stack>`` of the bootstrap
    (the checked-in stack file as it is: a runner's StackReference is answered on the runner side)."""
    if stack.startswith(BOOTSTRAP_PREFIX):
        return load_plan(stack.removeprefix(BOOTSTRAP_PREFIX), Path(project_dir, BOOTSTRAP_DIR))
    return load_plan(stack, project_dir)


def load_plan(stack: str, project_dir: str | Path, stack_file: str | Path | None = None) -> Plan:
    """Run ``Pulumi.<stack>.yaml`` (or ``stack_file``) under the offline engine and return its plan."""
    path = Path(stack_file) if stack_file else Path(project_dir, f"Pulumi.{stack}.yaml")
    return plan_of(run_stack_file(path, project_dir=project_dir, stack=stack, dry_run=True))
