from __future__ import annotations

import contextlib
import logging
from typing import Any

from redis.exceptions import OutOfMemoryError, RedisError

from app.auth.deps import Principal
from app.core.db import tenant_tx
from app.core.errors import DependencyUnavailableError, not_found
from app.core.services import Services
from app.exports.jobs import (
    EXPORT_FUNCTION,
    QUEUE_NAME,
    STATUS_TTL_SECONDS,
    export_job_id,
    status_key,
)
from app.exports.schemas import ExportAccepted, ExportState

log = logging.getLogger("app.exports")


async def _data_fingerprint(p: Principal) -> str:
    async with tenant_tx(p.shard, p.tenant) as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, max(updated_at) AS last FROM documents WHERE tenant_id = $1", p.tenant
        )
    return f"data:{row['n']}:{row['last'].isoformat() if row['last'] else '-'}"


def _redis_unavailable(exc: Exception) -> DependencyUnavailableError:
    if isinstance(exc, OutOfMemoryError):
        return DependencyUnavailableError(
            "redis", "out of memory, the job was not queued", code="queue_unavailable"
        )
    return DependencyUnavailableError("redis", code="queue_unavailable")


async def enqueue(svc: Services, p: Principal, idempotency_key: str | None) -> ExportAccepted:
    basis = f"key:{idempotency_key}" if idempotency_key else await _data_fingerprint(p)
    job_id = export_job_id(p.tenant, p.user_id, basis)
    key = status_key(job_id)
    # redis-py types every command as `Awaitable[T] | T`; the asyncio client always returns awaitables.
    redis: Any = svc.redis
    try:
        first = await redis.hsetnx(key, "tenant", p.tenant)
        if not first:
            status = await redis.hget(key, "status")
            return ExportAccepted(job_id=job_id, status=(status or b"queued").decode())  # type: ignore[arg-type]
        await redis.hset(key, mapping={"status": "queued", "attempts": 0, "subject": p.user_id})
        await redis.expire(key, STATUS_TTL_SECONDS)
        job = await redis.enqueue_job(
            EXPORT_FUNCTION, p.tenant, job_id, _job_id=job_id, _queue_name=QUEUE_NAME
        )
        if job is None:
            log.info("export already known to the queue", extra={"job_id": job_id})
    except (RedisError, OSError) as exc:
        # Never report a job that is not queued: drop the status so a retry can enqueue it again.
        with contextlib.suppress(RedisError, OSError):
            await redis.delete(key)
        raise _redis_unavailable(exc) from exc
    return ExportAccepted(job_id=job_id, status="queued")


async def state(svc: Services, p: Principal, job_id: str) -> ExportState:
    if not job_id.startswith("exp-") or len(job_id) > 40:
        raise not_found("export")
    try:
        client: Any = svc.redis
        fields = await client.hgetall(status_key(job_id))
    except (RedisError, OSError) as exc:
        raise DependencyUnavailableError("redis", code="queue_unavailable") from exc
    doc = {k.decode(): v.decode() for k, v in fields.items()}
    # Another tenant's job is as invisible as a job that never existed.
    if doc.get("tenant") != p.tenant:
        raise not_found("export")
    url = None
    if doc.get("status") == "done" and doc.get("object_key"):
        url = await svc.storage.presign_get(doc["object_key"], f"{job_id}.jsonl")
    return ExportState(
        job_id=job_id,
        status=doc.get("status", "queued"),
        download_url=url,
        attempts=int(doc.get("attempts", 0)),
        error=doc.get("error"),
    )
