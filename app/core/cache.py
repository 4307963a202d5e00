"""The document cache in Redis. A Redis error is a miss, never a failed request.

Redis runs with `maxmemory-policy noeviction` because the queue shares it (see docs/app.md): when memory is
full, cache writes fail with an OOM error; they are counted and the request goes on from the database.
Every cache key carries a TTL.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError, RedisError

from app.core.metrics import Metrics
from app.core.redis_pipeline import PipelinedGets
from app.core.settings import CacheSettings, RedisSettings

log = logging.getLogger("app.cache")

TOMBSTONE = b"-"


class Cache:
    def __init__(
        self, redis: Redis, settings: CacheSettings, redis_settings: RedisSettings, metrics: Metrics
    ):
        self._redis = redis
        # Lookups, the hot path, are pipelined on one connection of the client's pool; writes stay on redis.
        self._gets = PipelinedGets(redis.connection_pool)
        self._enabled = settings.enabled
        self._ttl = settings.ttl_seconds
        self._backoff = redis_settings.down_backoff_seconds
        self._metrics = metrics
        self._down_until = 0.0
        # Bound once: a labelled child lookup per request is measurable on the hot path.
        self._hit = metrics.cache.labels("hit")
        self._miss = metrics.cache.labels("miss")

    def _available(self) -> bool:
        return self._enabled and time.monotonic() >= self._down_until

    def _failed(self, op: str, exc: Exception) -> None:
        self._metrics.cache.labels(f"{op}_error").inc()
        # A connection problem (not a full Redis, which still answers reads): skip Redis for a moment so
        # each request doesn't pay a timeout.
        if not isinstance(exc, OutOfMemoryError):
            self._down_until = time.monotonic() + self._backoff
        log.warning("cache %s failed: %s", op, exc)

    async def get(self, key: str) -> bytes | None:
        """The cached bytes, TOMBSTONE for a deleted entity, or None on a miss or any Redis error."""
        if not self._available():
            self._miss.inc()
            return None
        try:
            value = await self._gets.get(key)
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        (self._hit if value is not None else self._miss).inc()
        return value

    async def put(self, key: str, value: bytes, *, only_if_absent: bool = False) -> bool:
        """Store with the TTL. `only_if_absent` is for filling after a miss: it never overwrites what a
        concurrent write stored, so a slow reader cannot put an older version back."""
        if not self._available():
            return False
        try:
            done = await self._redis.set(key, value, ex=self._ttl, nx=only_if_absent)
        except (RedisError, OSError) as exc:
            self._failed("set", exc)
            return False
        return bool(done)

    async def replace(self, key: str, value: bytes) -> None:
        """After a committed write: store the new value, or at least drop the old one (a DEL is allowed
        when Redis is out of memory under noeviction), so readers never see the previous version."""
        if await self.put(key, value):
            return
        if not self._enabled:
            return
        try:
            await self._redis.delete(key)
        except (RedisError, OSError) as exc:
            self._failed("delete", exc)
