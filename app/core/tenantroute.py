"""Tenant -> shard resolution: the routing override, then the tenant map, then the shard's own word.

`TenantRouter.resolve` is the one function every request (and the worker) uses to find a tenant's shard.
It is an in-memory lookup, no round trip:

1. A routing override published in Redis by `python -m app.tenants move` (hash `nexus:tenant-routes`,
   tenant -> {"shard", "expires_at"}) wins over the tenant map: after a move's switch, every process routes
   the tenant to its new shard before anyone edits the stack config. Overrides expire; by then the config
   names the new shard too.
2. Otherwise the tenant map (the stack config).
3. The shard must have the tenant `active` in its `shard_tenants` table (migration 0003): `moving_out`
   serves reads and answers writes 503 `tenant_moving`; `moving_in` and a recent `retired` are
   `tenant_moving`; no row (a config edit without a move) is 503 `tenant_not_on_shard`.

The overrides and each shard's states are cached in the process and refreshed by `run()`: every shard's
`shard_tenants` every STATE_POLL_SECONDS (one small query per shard through the pooler), the Redis overrides
every REFRESH_SECONDS. A `retired` row names the shard its tenant moved to, and resolution follows it, so a
process routes a moved tenant to its new shard within STATE_POLL_SECONDS of the switch's commit, overrides
or not. Polled, not pushed: a pub/sub subscriber (or a fast Redis poll) per process tipped the queue's
`noeviction` Redis over its limit in tests/app/test_app_redis_noeviction.py (its reply buffer is resized by
Redis's cron), and the database is where the states are anyway.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.db import CONNECTION_ERRORS, ShardPools
from app.core.errors import tenant_moving, tenant_not_on_shard
from app.core.tenantmap import TenantMap

log = logging.getLogger("app.routing")

ROUTES_KEY = "nexus:tenant-routes"
"""Hash: tenant -> JSON {"shard": ..., "expires_at": unix seconds} (written by app.tenants.move)."""
STATE_POLL_SECONDS = 0.5
REFRESH_SECONDS = 5.0
MAX_HOPS = 3
"""How many `retired` -> next shard pointers resolution follows (a tenant moved on again before the map)."""
RECENT_RETIREMENT_SECONDS = 300.0
"""As the guard (migration 0003): a tenant retired this recently is still `tenant_moving` on its source."""
STATES_SQL = (
    "SELECT tenant, state, peer_shard, extract(epoch FROM changed_at)::float8 AS since FROM shard_tenants"
)


@dataclass(frozen=True)
class TenantState:
    state: str
    since: float
    peer_shard: str | None = None
    """For `retired`: the shard the tenant moved to."""


@dataclass
class TenantRouter:
    tenant_map: TenantMap
    shards: Mapping[str, ShardPools]
    redis: Redis | None
    overrides: dict[str, str] = field(default_factory=dict)
    states: dict[str, dict[str, TenantState]] = field(default_factory=dict)
    """shard id -> tenant -> state; a shard missing here was never read (its writer was down)."""
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def shard_id(self, tenant: str) -> str | None:
        """The shard the tenant is routed to (override, then map), None for an unknown tenant."""
        return self.overrides.get(tenant) or self.tenant_map.shard_of(tenant)

    def resolve(self, tenant: str, *, write: bool) -> ShardPools | None:
        """The shard that serves `tenant` now, None for an unknown tenant; raises the 503 when the shard
        does not have it `active` (reads of a `moving_out` tenant go on). This is the single
        tenant -> shard resolution of the app: any fast path must go through it."""
        shard_id = self.shard_id(tenant)
        if shard_id is None:
            return None
        for _ in range(MAX_HOPS + 1):
            shard = self.shards.get(shard_id)
            if shard is None:  # a shard this process does not know (an older map): it will
                raise tenant_moving(tenant)
            known = self.states.get(shard_id)
            if known is None:
                # Never read: the shard's writer has not answered since start-up, so it cannot be served.
                raise shard.writer_error()
            entry = known.get(tenant)
            if entry is None:
                mapped = self.tenant_map.shard_of(tenant)
                if mapped is not None and mapped != shard_id and tenant in self.states.get(mapped, {}):
                    # An override older than the shards' word (the tenant moved back, or the move was
                    # aborted after a switch): the overrides are re-read only every REFRESH_SECONDS.
                    shard_id = mapped
                    continue
                raise tenant_not_on_shard(tenant, shard_id)
            if entry.state == "active" or (entry.state == "moving_out" and not write):
                return shard
            if entry.state != "retired":
                raise tenant_moving(tenant)
            peer = entry.peer_shard
            if peer is None or tenant not in self.states.get(peer, {}):
                # Retired with nowhere known to go: moving just after a switch, then not on this shard.
                if time.time() - entry.since > RECENT_RETIREMENT_SECONDS:
                    raise tenant_not_on_shard(tenant, shard_id)
                raise tenant_moving(tenant)
            shard_id = peer
        raise tenant_moving(tenant)

    async def refresh(self, *, overrides: bool = True) -> None:
        """Re-read the overrides (Redis, unless `overrides` is False), then every shard's states (their
        writers), and only then replace both at once. The order matters: the move publishes an override
        only after the target has the tenant `active`, so states read after the overrides are at least as
        new, and a request never pairs a new override with the target's old states. Refreshes run one at a
        time, so an older read never replaces a newer one."""
        async with self._refreshing:
            routes = await self._read_redis() if overrides else None
            read = await asyncio.gather(*(self._read_states(s) for s in self.shards.values()))
            if routes is not None:
                self.overrides = routes
            self.states |= {shard_id: states for shard_id, states in read if states is not None}

    async def run(self) -> None:
        """Refresh forever: states every STATE_POLL_SECONDS, overrides every REFRESH_SECONDS (a task of the
        app's lifespan and of the worker's start-up)."""
        every = max(1, round(REFRESH_SECONDS / STATE_POLL_SECONDS))
        for tick in itertools.count(1):
            await asyncio.sleep(STATE_POLL_SECONDS)
            try:
                await self.refresh(overrides=tick % every == 0)
            except Exception:  # the refresher must outlive any one failure
                log.exception("tenant routing refresh failed")

    async def _read_redis(self) -> dict[str, str] | None:
        if self.redis is None:
            return None
        try:
            raw = await self.redis.hgetall(ROUTES_KEY)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            # Keep what is known: the shards' guards still refuse every misplaced write.
            log.warning("tenant routes not read: %s", exc)
            return None
        return parse_overrides(raw, time.time())

    async def _read_states(self, shard: ShardPools) -> tuple[str, dict[str, TenantState] | None]:
        try:
            async with asyncio.timeout(shard.settings.acquire_timeout_seconds):
                async with shard.writer.pool.acquire() as conn:
                    rows = await conn.fetch(STATES_SQL)
        except (*CONNECTION_ERRORS, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("tenant states of %s not read: %s", shard.shard_id, type(exc).__name__)
            return shard.shard_id, None
        return shard.shard_id, {
            r["tenant"]: TenantState(r["state"], r["since"], r["peer_shard"]) for r in rows
        }


def parse_overrides(raw: Mapping[bytes, bytes], now: float) -> dict[str, str]:
    """tenant -> shard for every override that has not expired (malformed entries are skipped)."""
    routes: dict[str, str] = {}
    for tenant, value in raw.items():
        try:
            entry = json.loads(value)
            shard, expires_at = str(entry["shard"]), float(entry["expires_at"])
        except (ValueError, KeyError, TypeError):
            log.warning("malformed tenant route for %r ignored", tenant)
            continue
        if expires_at > now:
            routes[tenant.decode()] = shard
    return routes
