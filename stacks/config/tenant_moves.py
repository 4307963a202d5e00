"""`nexus:tenantMoves`: the stack file's acknowledgement that a tenant's shard changes on purpose.

Editing a tenant's entry in `nexus:shards` moves no data: the move is `python -m app.tenants move TENANT
--to SHARD` (docs/shards.md), which prints this entry as part of the config edit. In prod the change view
refuses a tenant whose shard changes without an entry here that names the same move (policy/tenancy.py).

    nexus:tenantMoves:
      acme: {from: shard-a, to: shard-b}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stacks.config.sections import is_dns_safe_shard_id

KEY = "nexus:tenantMoves"


@dataclass(frozen=True, slots=True)
class TenantMove:
    """One acknowledged move: the tenant's data was moved from `source` to `target` by the move command."""

    source: str
    target: str


def load_tenant_moves(
    value: Any, tenant_shards: Mapping[str, str] | None, problems: list[str]
) -> dict[str, TenantMove]:
    """Validate the map; `tenant_shards` (tenant -> shard of nexus:shards) is None when that key is invalid
    (then only the entries' own shape is checked)."""
    if not isinstance(value, dict):
        problems.append(
            f"{KEY}: expected a map of tenant id to {{from: shard id, to: shard id}}, got "
            f"{type(value).__name__} {json.dumps(value)[:60]}"
        )
        return {}
    moves: dict[str, TenantMove] = {}
    for tenant, entry in value.items():
        path = f"{KEY}.{tenant}"
        if not isinstance(entry, dict) or set(entry) != {"from", "to"}:
            problems.append(
                f"{path}: expected {{from: shard id, to: shard id}}, got {json.dumps(entry)[:60]}"
            )
            continue
        bad = [
            k for k in ("from", "to") if not isinstance(entry[k], str) or not is_dns_safe_shard_id(entry[k])
        ]
        if bad:
            problems.extend(f"{path}.{k}: {json.dumps(entry[k])} is not a shard id" for k in bad)
            continue
        if entry["from"] == entry["to"]:
            problems.append(f"{path}: from and to are both {entry['to']!r}; a move names two shards")
            continue
        if tenant_shards is not None:
            placed = tenant_shards.get(tenant)
            if placed is None:
                problems.append(f"{path}: {tenant!r} is no tenant of nexus:shards; remove the entry")
                continue
            if placed != entry["to"]:
                problems.append(
                    f"{path}.to: {entry['to']!r}, but nexus:shards puts {tenant} on {placed!r}; acknowledge "
                    f"the move the config makes (to: {placed})"
                )
                continue
        moves[tenant] = TenantMove(entry["from"], entry["to"])
    return moves
