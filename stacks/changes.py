"""The change view: what an edit of a stack's config changes, from two preview JSON documents.

Pure functions over the documents ``python -m stacks.preview --json`` prints (docs/preview.md): the old one
(the base config, or a saved document) and the new one. Resources are matched by URN, as the Pulumi engine
matches a program's registrations against the stack's state: a URN only in the new document is a create,
one only in the old is a delete, one in both whose inputs differ outside its ``ignoreChanges`` paths is an
update. Values are never printed, only key names; secrets are already masked in the documents, so a secret
whose value alone changed shows as unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

CREATE, UPDATE, DELETE, SAME = "create", "update", "delete", "same"
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-"}
SHARD_TYPE = "nexus:database:TenantShard"


@dataclass(frozen=True)
class Step:
    """One resource's step. ``diff`` holds changed input paths prefixed ``+`` (added), ``-`` (removed) or
    ``~`` (changed); ``options`` the changed options (protect, parent, dependencies, ignoreChanges)."""

    op: str
    urn: str
    type: str
    name: str
    diff: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeSet:
    steps: tuple[Step, ...]
    outputs: tuple[str, ...] = ()  # changed stack outputs, prefixed like ``diff``
    warnings: tuple[str, ...] = field(default=())

    def of(self, op: str) -> list[Step]:
        return [step for step in self.steps if step.op == op]

    def urns(self, op: str) -> set[str]:
        return {step.urn for step in self.of(op)}

    def summary(self) -> dict[str, int]:
        """Counts per op, as ``pulumi preview --json``'s ``changeSummary`` (a map of op to count)."""
        counts = dict.fromkeys((CREATE, UPDATE, DELETE, SAME), 0)
        for step in self.steps:
            counts[step.op] += 1
        return counts


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> ChangeSet:
    """The steps from ``old`` to ``new`` (two preview JSON documents), the changed outputs and the
    warnings a reviewer must not miss."""
    before = {resource["urn"]: resource for resource in old["resources"]}
    after = {resource["urn"]: resource for resource in new["resources"]}
    steps: list[Step] = []
    for urn in sorted(before.keys() | after.keys()):
        if urn not in before:
            steps.append(_step(CREATE, after[urn]))
        elif urn not in after:
            steps.append(_step(DELETE, before[urn]))
        else:
            ignored = tuple(after[urn].get("ignoreChanges") or ())
            diff = tuple(
                path
                for path in diff_paths(before[urn]["inputs"], after[urn]["inputs"])
                if not any(path[1:] == item or path[1:].startswith(f"{item}.") for item in ignored)
            )
            options = tuple(
                key
                for key in ("protect", "parent", "dependencies", "ignoreChanges")
                if before[urn].get(key) != after[urn].get(key)
            )
            steps.append(_step(UPDATE if diff else SAME, after[urn], diff, options))
    outputs = tuple(diff_paths(old.get("outputs", {}), new.get("outputs", {}), depth=1))
    return ChangeSet(tuple(steps), outputs, tuple(_warnings(old, new, before, after)))


def _step(
    op: str, resource: Mapping[str, Any], diff: tuple[str, ...] = (), options: tuple[str, ...] = ()
) -> Step:
    return Step(op, resource["urn"], resource["type"], resource["name"], diff, options)


def diff_paths(old: Any, new: Any, prefix: str = "", depth: int = 3) -> Iterator[str]:
    """Changed paths between two JSON values: into mappings up to ``depth`` levels, lists compared whole."""
    if old == new:
        return
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)) or depth == 0:
        yield f"~{prefix}"
        return
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in old:
            yield f"+{path}"
        elif key not in new:
            yield f"-{path}"
        else:
            yield from diff_paths(old[key], new[key], path, depth - 1)


def _tenant_map(document: Mapping[str, Any]) -> Mapping[str, Any]:
    value = document.get("outputs", {}).get("tenantMap")
    return value if isinstance(value, Mapping) else {}


def _warnings(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
) -> Iterator[str]:
    old_tenants = _tenant_map(old).get("tenants") or {}
    new_tenants = _tenant_map(new).get("tenants") or {}
    for tenant in sorted(old_tenants):
        if tenant not in new_tenants:
            yield (
                f"tenant '{tenant}' leaves the tenant map (was on {old_tenants[tenant]}): its data stays in "
                f"{old_tenants[tenant]} and is no longer served; nothing deletes or moves it"
            )
        elif new_tenants[tenant] != old_tenants[tenant]:
            yield (
                f"tenant '{tenant}' moves from {old_tenants[tenant]} to {new_tenants[tenant]}: its data does "
                f"not move by itself; copy it to {new_tenants[tenant]} before this is applied"
            )
    for urn in sorted(before.keys() - after.keys()):
        resource = before[urn]
        if resource["type"] == SHARD_TYPE:
            yield f"shard {resource['name']} is removed: its database, replicas and proxy are deleted"
        if resource.get("protect"):
            yield (
                f"protected resource {resource['type']} {resource['name']} is deleted: pulumi up refuses "
                "until it is unprotected"
            )


def render(changes: ChangeSet) -> list[str]:
    """The readable change view: warnings first, one line per changed resource, changed outputs, summary."""
    lines: list[str] = []
    if changes.warnings:
        lines += ["WARNING: read before applying", *(f"  !! {warning}" for warning in changes.warnings), ""]
    changed = [step for step in changes.steps if step.op != SAME]
    for step in changed:
        detail = f"  [diff: {', '.join(step.diff)}]" if step.diff else ""
        lines.append(f"  {SYMBOLS[step.op]} {step.type} {step.name}{detail}")
    if changes.outputs:
        lines += ["", "Outputs:", *(f"  {path[0]} {path[1:]}" for path in changes.outputs)]
    counts = changes.summary()
    if changed:
        lines.append("")
    lines.append(
        f"Resources: + {counts[CREATE]} to create, ~ {counts[UPDATE]} to update, "
        f"- {counts[DELETE]} to delete, {counts[SAME]} unchanged"
    )
    return lines


def preview_steps(changes: ChangeSet) -> list[dict[str, Any]]:
    """``steps`` shaped as ``pulumi preview --json`` prints them: pulumi/pulumi's PreviewStep in
    sdk/go/common/display/json.go (``op``, ``urn``, ``diffReasons`` the changed top-level keys of an update,
    ``detailedDiff`` property path -> ``{"kind": "add" | "delete" | "update", "inputDiff": true}``, null when
    there is none). ``oldState``/``newState`` are left out: the documents hold inputs, not provider state."""
    kinds = {"+": "add", "-": "delete", "~": "update"}
    steps: list[dict[str, Any]] = []
    for step in changes.steps:
        entry: dict[str, Any] = {"op": step.op, "urn": step.urn, "detailedDiff": None}
        if step.diff:
            entry["diffReasons"] = sorted({path[1:].split(".")[0] for path in step.diff})
            entry["detailedDiff"] = {
                path[1:]: {"kind": kinds[path[0]], "inputDiff": True} for path in step.diff
            }
        steps.append(entry)
    return steps
