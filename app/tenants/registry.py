"""Each shard's record of its tenants (`shard_tenants`, migration 0003), as the owner role sees it.

State changes take the tenant's advisory lock exclusively (the lock every write transaction of the app
holds shared, in `nexus_tenant_guard`): a change commits only once the tenant's in-flight write
transactions on that shard have ended, and every write transaction that starts after it sees the new state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

log = logging.getLogger("app.tenants")

GUARD_LOCK_CLASS = 727002
"""The advisory lock class of migration 0003's guard (second key: hashtext(tenant))."""
STATES = ("active", "moving_out", "moving_in", "retired")
LOCK_TIMEOUT = "10s"
"""How long a state change waits for the tenant's in-flight write transactions (each lasts milliseconds)."""


@dataclass(frozen=True)
class Entry:
    state: str
    peer_shard: str | None


def read_all(conn: Connection) -> dict[str, Entry]:
    rows = conn.execute(text("SELECT tenant, state, peer_shard FROM shard_tenants")).all()
    return {tenant: Entry(state, peer) for tenant, state, peer in rows}


def read(conn: Connection, tenant: str) -> Entry | None:
    row = conn.execute(
        text("SELECT state, peer_shard FROM shard_tenants WHERE tenant = :t"), {"t": tenant}
    ).one_or_none()
    return None if row is None else Entry(row[0], row[1])


def set_state(conn: Connection, tenant: str, state: str, peer_shard: str | None = None) -> None:
    """Upsert the tenant's state in one transaction that holds the tenant's guard lock exclusively."""
    if state not in STATES:
        raise ValueError(f"not a tenant state: {state!r}")
    with conn.begin():
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:t))"), {"cls": GUARD_LOCK_CLASS, "t": tenant}
        )
        conn.execute(
            text(
                "INSERT INTO shard_tenants (tenant, state, peer_shard) VALUES (:t, :s, :p)"
                " ON CONFLICT (tenant) DO UPDATE SET state = :s, peer_shard = :p, changed_at = now()"
            ),
            {"t": tenant, "s": state, "p": peer_shard},
        )


def delete(conn: Connection, tenant: str) -> None:
    with conn.begin():
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:t))"), {"cls": GUARD_LOCK_CLASS, "t": tenant}
        )
        conn.execute(text("DELETE FROM shard_tenants WHERE tenant = :t"), {"t": tenant})


def new_tenants(
    tenant_map: Mapping[str, str], known: Mapping[str, Mapping[str, Entry]]
) -> tuple[dict[str, str], list[str]]:
    """Which tenants of the map to register `active` on their shard, and warnings.

    `known` is every shard's registry. A tenant no shard knows is new: it is registered on the shard the map
    names (this is also the backfill of a deployment from before migration 0003). A tenant some shard
    already knows is never registered anywhere by the map: when the map names a shard that does not have
    it, the config moved it without a move, and it stays at 503 tenant_not_on_shard until the move runs.
    """
    register: dict[str, str] = {}
    warnings: list[str] = []
    for tenant, shard in sorted(tenant_map.items()):
        holders = {sid: reg[tenant] for sid, reg in known.items() if tenant in reg}
        if not holders:
            register[tenant] = shard
            continue
        here = holders.get(shard)
        if here is None or here.state != "active":
            where = ", ".join(f"{sid} ({entry.state})" for sid, entry in sorted(holders.items()))
            warnings.append(
                f"tenant {tenant}: the map names {shard}, which does not have it active; it is on {where}. "
                f"Run `python -m app.tenants move {tenant} --to {shard}` (docs/shards.md)"
            )
    return register, warnings
