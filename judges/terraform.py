"""The plan as a Terraform plan JSON (``terraform show -json``), for checkov's terraform_plan checks.

pulumi-aws is bridged from the Terraform AWS provider: each type is a Terraform resource type and each input
its attribute in snake_case, except where Pulumi renamed it (the table's ``renames``). Terraform keeps nested
blocks as lists even where Pulumi flattens a one-item block into an object, and keeps maps (tags, labels) as
objects. References between resources (the engine's property dependencies) become the configuration's
``expressions``, so that checkov's graph checks see which bucket a public access block belongs to.
"""

from __future__ import annotations

import re
from typing import Any

from .plan import Plan, PlanResource
from .shapes import snake
from .table import TABLE, Tf

TERRAFORM_VERSION = "1.9.8"
"""Any Terraform 1.x plan format: checkov reads ``format_version`` 1.x documents alike."""
PROVIDER = "registry.terraform.io/hashicorp/aws"


def _tf_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if not re.match(r"[A-Za-z_]", base):
        base = f"r_{base}"
    candidate, index = base, 2
    while candidate in taken:
        candidate, index = f"{base}_{index}", index + 1
    taken.add(candidate)
    return candidate


def _values(value: Any, tf: Tf, path: str) -> Any:
    if isinstance(value, dict):
        if path in tf.maps:
            return dict(value)
        return [_block(value, tf, path)]
    if isinstance(value, list):
        return [_block(item, tf, path) if isinstance(item, dict) else item for item in value]
    return value


def _block(value: dict[str, Any], tf: Tf, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        name = tf.renames.get(child, snake(key))
        if path == "" and key in tf.maps and isinstance(item, dict):
            out[name] = dict(item)
        else:
            out[name] = _values(item, tf, child)
    return out


def _attributes(resource: PlanResource, plan: Plan, tf: Tf) -> dict[str, Any]:
    values = _block(dict(resource.state), tf, "")
    values["id"] = resource.id
    if "tags" in resource.state or resource.type in _TAGGABLE:
        values["tags_all"] = {**plan.default_tags, **dict(resource.state.get("tags") or {})}
    return values


_TAGGABLE = frozenset(
    type_ for type_, row in TABLE.items() if row.cfn.tags is not None or "tags" in row.cfn.props
)


def to_plan_json(plan: Plan) -> tuple[dict[str, Any], list[str]]:
    """The Terraform plan document of a plan, and the types without a mapping (must stay empty)."""
    gaps: list[str] = []
    taken: set[str] = set()
    address: dict[str, str] = {}
    rows: list[tuple[PlanResource, Tf, str]] = []
    for resource in plan:
        row = TABLE.get(resource.type)
        if row is None:
            gaps.append(resource.type)
            continue
        name = _tf_name(resource.name, taken)
        address[resource.urn] = f"{row.tf.type}.{name}"
        rows.append((resource, row.tf, name))
    planned, changes, config = [], [], []
    for resource, tf, name in rows:
        values = _attributes(resource, plan, tf)
        common = {"address": f"{tf.type}.{name}", "mode": "managed", "type": tf.type, "name": name}
        planned.append({**common, "provider_name": PROVIDER, "schema_version": 0, "values": values})
        changes.append(
            {
                **common,
                "provider_name": PROVIDER,
                "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": {}},
            }
        )
        expressions = {}
        for key, urns in sorted(resource.property_dependencies.items()):
            refs = [ref for urn in urns if (target := address.get(urn)) for ref in (f"{target}.id", target)]
            if refs:
                expressions[tf.renames.get(key, snake(key))] = {"references": refs}
        config.append(
            {**common, "provider_config_key": "aws", "expressions": expressions, "schema_version": 0}
        )
    document = {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                "aws": {
                    "name": "aws",
                    "full_name": PROVIDER,
                    "expressions": {"region": {"constant_value": plan.region}},
                }
            },
            "root_module": {"resources": config},
        },
    }
    return document, gaps
