"""The clients one process holds, created by the app lifespan (or the worker's on_startup)."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis

from app.auth.passwords import Passwords
from app.auth.tokens import TokenService
from app.core.cache import Cache
from app.core.db import ShardPools
from app.core.metrics import Metrics
from app.core.settings import RedisSettings, Settings
from app.core.storage import Storage
from app.core.tenantroute import TenantRouter


@dataclass
class Services:
    settings: Settings
    shards: dict[str, ShardPools]
    redis: ArqRedis
    cache: Cache
    storage: Storage
    tokens: TokenService
    passwords: Passwords
    metrics: Metrics
    router: TenantRouter
    """Tenant -> shard (override, map, the shard's own state): app.core.tenantroute."""

    def refresh_pool_metrics(self) -> None:
        """Copy each pool's size into the gauges (called periodically and at scrape time)."""
        gauge = self.metrics.pool
        for shard in self.shards.values():
            for handle in (shard.writer, *shard.readers):
                pool = handle.pool
                size, idle = pool.get_size(), pool.get_idle_size()
                gauge.labels(shard.shard_id, handle.name, handle.role, "in_use").set(size - idle)
                gauge.labels(shard.shard_id, handle.name, handle.role, "idle").set(idle)
                gauge.labels(shard.shard_id, handle.name, handle.role, "max").set(pool.get_max_size())


def make_redis(settings: RedisSettings) -> tuple[ArqRedis, Redis, ConnectionPool]:
    """Clients for the queue and the cache over one connection pool. Building them connects nothing, so a
    process starts while Redis is down; short timeouts turn a dead Redis into a fast error, not a hang.

    The cache client keeps one connection of its own: a cache lookup then skips the pool's checkout (a lock
    and a readiness poll of the socket on every command), which is a large share of a cached GET.
    """
    pool = ConnectionPool.from_url(
        settings.url,
        socket_connect_timeout=settings.timeout_seconds,
        socket_timeout=settings.timeout_seconds,
        health_check_interval=30,
        max_connections=64,
    )
    return ArqRedis(connection_pool=pool), Redis(connection_pool=pool, single_connection_client=True), pool
