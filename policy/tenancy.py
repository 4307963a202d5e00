"""Tenant placement over a change: a tenant's shard may change in prod only with the move acknowledged.

Not a graph rule: a tenant's move is a difference between two configs (the deployed tenant map and the new
one), which one plan does not hold. The change view (stacks/changes.py, `make preview-diff`) runs this rule
with both tenant maps and the new stack's `nexus:tenantMoves`. The data of a tenant moves only by
`python -m app.tenants move` (docs/shards.md); editing `nexus:shards` alone routes the tenant to a shard that
does not own it, which the app then answers 503 tenant_not_on_shard until the move runs.
"""

from __future__ import annotations

from collections.abc import Mapping

RULE = "tenant-move-acknowledged"


def tenant_moves(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """tenant -> (old shard, new shard) for every tenant of both maps whose shard differs."""
    return {t: (old[t], new[t]) for t in sorted(old) if t in new and old[t] != new[t]}


def tenant_move_refusals(
    old: Mapping[str, str],
    new: Mapping[str, str],
    acknowledged: Mapping[str, tuple[str, str]],
    *,
    prod: bool,
) -> list[str]:
    """One line per move the prod config makes without a `nexus:tenantMoves` entry naming the same move."""
    if not prod:
        return []
    refusals = []
    for tenant, (source, target) in tenant_moves(old, new).items():
        if acknowledged.get(tenant) != (source, target):
            refusals.append(
                f"[{RULE}] nexus:tenantMoves.{tenant}: tenant {tenant} moves from {source} to {target} in "
                f"prod without an acknowledgement; run `python -m app.tenants move {tenant} --to {target}` "
                f"first, then add {{from: {source}, to: {target}}} (docs/shards.md)"
            )
    return refusals
