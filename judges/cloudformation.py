"""The plan as a CloudFormation template, so that cfn-lint judges it against AWS's own resource schemas.

Physical names are the ones Pulumi creates (the engine's auto-names: logical name plus random suffix),
the provider's default tags are merged into each taggable resource, and resources that CloudFormation models
inside another (S3 bucket configuration, role policy attachments, a proxy's targets, a secret's value) are
merged into it. What the table drops, or cannot map, is counted in a ``Coverage``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .plan import Plan, PlanResource
from .shapes import UnmappedFieldError, pascal_key, tag_list
from .table import TABLE, Drop, To


@dataclass
class Coverage:
    """What a conversion mapped, dropped on purpose, and could not map (the last must stay empty)."""

    types_mapped: set[str] = field(default_factory=set)
    types_dropped: dict[str, str] = field(default_factory=dict)
    props_mapped: set[tuple[str, str]] = field(default_factory=set)
    props_dropped: dict[tuple[str, str], str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    """``type``, ``type: input`` or ``urn: problem``: every gap, for the coverage test to fail on."""

    def merge(self, other: Coverage) -> None:
        """Add another conversion's coverage (for the line over several stacks)."""
        self.types_mapped |= other.types_mapped
        self.types_dropped.update(other.types_dropped)
        self.props_mapped |= other.props_mapped
        self.props_dropped.update(other.props_dropped)
        self.unmapped += [gap for gap in other.unmapped if gap not in self.unmapped]

    def line(self, judge: str) -> str:
        """One line for humans and CI logs."""
        return (
            f"{judge} coverage: {len(self.types_mapped)} types mapped, "
            f"{len(self.types_dropped)} dropped with a reason; {len(self.props_mapped)} inputs mapped, "
            f"{len(self.props_dropped)} dropped with a reason; {len(self.unmapped)} unmapped"
        )


def logical_id(name: str, taken: Mapping[str, Any]) -> str:
    """A CloudFormation logical id (alphanumeric) from a Pulumi logical name, unique in ``taken``."""
    base = "".join(pascal_key(part) for part in re.split(r"[^A-Za-z0-9]+", name) if part) or "Resource"
    candidate, index = base, 2
    while candidate in taken:
        candidate, index = f"{base}{index}", index + 1
    return candidate


def _set(props: dict[str, Any], path: str, value: Any, append: bool) -> None:
    if path == "":
        props.update(value)
        return
    *parents, leaf = path.split(".")
    node = props
    for part in parents:
        node = node.setdefault(part, {})
    if append:
        existing = node.setdefault(leaf, [])
        existing.extend(value if isinstance(value, list) else [value])
    else:
        node[leaf] = value


def _map_inputs(resource: PlanResource, props: dict[str, Any], coverage: Coverage) -> None:
    row = TABLE[resource.type].cfn
    for key, value in sorted(resource.inputs.items()):
        if key == "tags" and row.tags is not None:
            coverage.props_mapped.add((resource.type, key))
            continue  # merged with the provider's default tags below
        rule = row.props.get(key)
        if rule is None:
            coverage.unmapped.append(f"{resource.type}: {key}")
            continue
        if isinstance(rule, Drop):
            coverage.props_dropped[(resource.type, key)] = rule.reason
            continue
        assert isinstance(rule, To)
        try:
            shaped = rule.shape(value) if rule.shape is not None else value
        except (UnmappedFieldError, KeyError, TypeError) as exc:
            coverage.unmapped.append(f"{resource.urn}: {key}: {exc}")
            continue
        _set(props, rule.path, shaped, rule.append)
        coverage.props_mapped.add((resource.type, key))
    for dotted, reason in row.nested_drops.items():
        if dotted.split(".")[0] in resource.inputs:
            coverage.props_dropped[(resource.type, dotted)] = reason


def to_template(plan: Plan) -> tuple[dict[str, Any], Coverage]:
    """The template of a plan, and the coverage of the conversion."""
    coverage = Coverage()
    resources: dict[str, dict[str, Any]] = {}
    index: dict[tuple[str, str], str] = {}  # (pulumi type, state value) -> logical id, for merges
    merged: list[PlanResource] = []
    for resource in plan:
        row = TABLE.get(resource.type)
        if row is None:
            coverage.unmapped.append(resource.type)
            continue
        cfn = row.cfn
        if cfn.type is None:
            coverage.types_dropped[resource.type] = cfn.reason
            continue
        coverage.types_mapped.add(resource.type)
        if cfn.merge is not None:
            merged.append(resource)
            continue
        props: dict[str, Any] = dict(cfn.fixed)
        _map_inputs(resource, props, coverage)
        if cfn.name is not None and resource.state.get(cfn.name[0]) is not None:
            _set(props, cfn.name[1], resource.state[cfn.name[0]], append=False)
        if cfn.tags is not None:
            tags = {**plan.default_tags, **dict(resource.inputs.get("tags") or {})}
            if tags:
                props["Tags"] = tag_list(tags) if cfn.tags == "list" else tags
        logical = logical_id(resource.name, resources)
        resources[logical] = {
            "Type": cfn.type,
            "Metadata": {"PulumiUrn": resource.urn},
            "Properties": props,
        }
        for key, value in resource.state.items():
            if isinstance(value, str):
                index.setdefault((resource.type, f"{key}={value}"), logical)
        if cfn.split is not None:
            for extra_id, extra in cfn.split(resource, logical).items():
                extra.setdefault("Metadata", {"PulumiUrn": resource.urn})
                resources[logical_id(extra_id, resources)] = extra
    for resource in merged:
        merge = TABLE[resource.type].cfn.merge
        assert merge is not None
        parent = index.get((merge.into, f"{merge.key}={resource.inputs.get(merge.by)}"))
        if parent is None:
            coverage.unmapped.append(
                f"{resource.urn}: no {merge.into} with {merge.key} = "
                f"{resource.inputs.get(merge.by)!r} to merge into"
            )
            continue
        if merge.as_item:
            item: dict[str, Any] = {}
            _map_inputs(resource, item, coverage)
            _set(resources[parent]["Properties"], merge.as_item, [item], append=True)
        else:
            _map_inputs(resource, resources[parent]["Properties"], coverage)
        resources[parent]["Metadata"].setdefault("MergedPulumiUrns", []).append(resource.urn)
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{plan.project}/{plan.stack} ({plan.region}): the offline plan, for cfn-lint",
        "Resources": dict(sorted(resources.items())),
    }
    return template, coverage
