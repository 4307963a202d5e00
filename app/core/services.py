"""The clients one process holds, created by the app lifespan (or the worker's on_startup)."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from app.auth.passwords import Passwords
from app.auth.tokens import TokenService
from app.core.cache import Cache
from app.core.db import ShardPools
from app.core.metrics import Metrics
from app.core.settings import RedisSettings, Settings
from app.core.storage import Storage


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


def make_redis(settings: RedisSettings) -> ArqRedis:
    """One Redis client for cache and queue. Building it connects nothing, so a process starts while Redis
    is down; short timeouts turn a dead Redis into a fast error instead of a hang."""
    pool = ConnectionPool.from_url(
        settings.url,
        socket_connect_timeout=settings.timeout_seconds,
        socket_timeout=settings.timeout_seconds,
        health_check_interval=30,
        max_connections=64,
    )
    return ArqRedis(connection_pool=pool)
