"""`python -m app.worker`: the arq worker that runs export jobs.

Clients live in the worker context (created in on_startup, closed in on_shutdown), like the API's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import AsyncExitStack
from typing import Any, ClassVar

from arq.connections import RedisSettings as ArqRedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import Function, Worker, func, get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.db import open_pools
from app.core.logs import configure_logging
from app.core.settings import Settings, build_settings
from app.core.storage import open_storage
from app.core.tenantroute import TenantRouter
from app.exports.jobs import MAX_TRIES, QUEUE_NAME
from app.exports.task import export_documents

log = logging.getLogger("app.worker")
REDIS_RETRY_SECONDS = 1.0


class ResilientWorker(Worker):
    """arq's worker exits when a poll hits a Redis connection error; this one waits and polls again, so a
    Redis restart does not take the worker down with it (queued jobs are still in Redis afterwards)."""

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis unavailable, polling again in %.0fs: %s", REDIS_RETRY_SECONDS, exc)
            await asyncio.sleep(REDIS_RETRY_SECONDS)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    stack = AsyncExitStack()
    ctx["stack"] = stack
    ctx["shards"] = await open_pools(settings)
    ctx["storage"] = await open_storage(settings.storage, stack)
    ctx["tenant_map"] = settings.tenant_map
    # The API's tenant -> shard resolution (override, map, the shard's own state), refreshed in the same way.
    router = TenantRouter(settings.tenant_map, ctx["shards"], ctx["redis"])
    await router.refresh()
    ctx["router"] = router
    ctx["routing"] = asyncio.get_running_loop().create_task(router.run())


async def shutdown(ctx: dict[str, Any]) -> None:
    if "routing" in ctx:
        ctx["routing"].cancel()
    for shard in ctx.get("shards", {}).values():
        await shard.close()
    if "stack" in ctx:
        await ctx["stack"].aclose()


DEFAULT_JOB_TIMEOUT_SECONDS = 300


def export_function(timeout_seconds: int) -> Function:
    return func(export_documents, name="export_documents", max_tries=MAX_TRIES, timeout=timeout_seconds)


class WorkerSettings:
    functions: ClassVar[list[Function | WorkerCoroutine]] = [export_function(DEFAULT_JOB_TIMEOUT_SECONDS)]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_NAME
    max_jobs = 8
    keep_result = 3600
    health_check_interval = 30


def arq_redis_settings(settings: Settings) -> ArqRedisSettings:
    redis = ArqRedisSettings.from_dsn(settings.redis.url)
    redis.conn_timeout = max(1, int(settings.redis.timeout_seconds))
    redis.conn_retries = 30  # the worker waits for Redis at start (e.g. while the stack comes up)
    return redis


def main() -> int:
    settings = build_settings(signs_tokens=False)
    configure_logging(settings.server.log_level)
    kwargs: dict[str, Any] = dict(get_kwargs(WorkerSettings))  # type: ignore[arg-type]
    kwargs.update(redis_settings=arq_redis_settings(settings), ctx={"settings": settings})
    kwargs["max_jobs"] = settings.server.worker_concurrency  # NEXUS_WORKER_CONCURRENCY, per pod
    # arq holds a job's in-progress lease for its timeout + 10 s: a worker killed mid-job (OOM, node loss)
    # delays the retry that long, so the timeout is a setting (NEXUS_JOB_TIMEOUT_SECONDS), not a constant.
    kwargs["functions"] = [export_function(settings.server.job_timeout_seconds)]
    ResilientWorker(**kwargs).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
