"""Extra sections of the offline preview, computed from the validated config and the recorded run.

To add one, write a function ``(config, run) -> list[str]`` (the lines to print; empty to skip the section)
in your own module and register it here with one line::

    SECTIONS.append(Section("Connection budget", my_module.connection_budget_lines))

Sections print in list order after the built-in ones (resource counts, component tree), before the exports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offline import StackRun
from stacks.capacity import connection_budget_lines
from stacks.config import StackConfig
from stacks.config.cluster import node_capacity_lines
from stacks.cost import preview_lines as cost_lines
from stacks.datastores import datastore_lines
from stacks.hardening import hardening_lines
from stacks.workload_preview import preview_lines as workload_preview_lines

SectionBody = Callable[[StackConfig, StackRun], list[str]]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of the readable preview."""

    title: str
    body: SectionBody


def tenant_map_lines(config: StackConfig, run: StackRun) -> list[str]:
    """Tenants by shard, with the endpoints the app will use when the program exports ``tenantMap``."""
    exported: Any = run.outputs.get("tenantMap")
    shards_json = exported.get("shards", {}) if isinstance(exported, dict) else {}
    lines: list[str] = []
    for shard_id in sorted(config.shards):
        shard = config.shards[shard_id]
        marker = "  (default for new tenants)" if shard_id == config.default_shard else ""
        lines.append(f"{shard_id}{marker}: {', '.join(sorted(shard.tenants))}")
        endpoints = shards_json.get(shard_id)
        if isinstance(endpoints, dict):
            writer = endpoints.get("writer") or {}
            lines.append(f"    writer  {writer.get('host')}:{writer.get('port')}")
            for reader in endpoints.get("readers") or []:
                lines.append(f"    reader  {reader.get('host')}:{reader.get('port')}")
    return lines


SECTIONS: list[Section] = [
    Section("Tenant -> shard map", tenant_map_lines),
]
SECTIONS.append(Section("Node capacity (nexus:cluster.nodeGroups)", node_capacity_lines))
SECTIONS.append(Section("Connection budget per shard (stacks/capacity.py)", connection_budget_lines))
SECTIONS.append(Section("Workloads (nexus:api, nexus:worker)", workload_preview_lines))
SECTIONS.append(Section("Shared Redis and S3 (nexus:cache, nexus:storage)", datastore_lines))
SECTIONS.append(
    Section("Hardening (nexus:alarms, nexus:waf, nexus:logs, nexus:vpcEndpoints)", hardening_lines)
)
SECTIONS.append(Section("Monthly cost estimate (stacks/cost.py, docs/cost.md)", cost_lines))


def placeholder_lines(config: StackConfig, run: StackRun) -> list[str]:
    """The example values a real ``pulumi up`` refuses, as the program warned about them on this dry run."""
    from stacks.program import PLACEHOLDER_WARNING

    found = [
        entry.message.removeprefix(PLACEHOLDER_WARNING)
        for entry in run.raw.logs
        if entry.severity == "warning" and entry.message.startswith(PLACEHOLDER_WARNING)
    ]
    if not found:
        return []
    return [*found, f"({len(found)} example values: a real `pulumi up` stops before creating anything)"]


SECTIONS.append(Section("Placeholders (replace before pulumi up; docs/operations.md)", placeholder_lines))
