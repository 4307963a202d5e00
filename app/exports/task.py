"""The export job run by the worker: the tenant's documents to S3 as JSON Lines."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from app.core.db import CONNECTION_ERRORS, ShardPools, tenant_tx
from app.core.errors import DependencyUnavailableError
from app.core.http import encode
from app.core.logs import tenant_var
from app.core.storage import S3_ERRORS, Storage, export_key
from app.core.tenantroute import TenantRouter
from app.documents.schemas import Document
from app.exports.jobs import MAX_TRIES, retry_delay_seconds, set_status

log = logging.getLogger("app.exports.task")
BATCH_ROWS = 500

# Failures worth another try: the database, Redis or S3 being briefly unreachable.
TRANSIENT = (DependencyUnavailableError, *CONNECTION_ERRORS, *S3_ERRORS)


async def _render(shard: ShardPools, tenant: str) -> tuple[bytes, int]:
    # The writer, not a replica: the export holds every write acknowledged before the POST.
    lines: list[bytes] = []
    async with tenant_tx(shard, tenant) as conn:
        cursor = conn.cursor(
            "SELECT id, title, body, version, created_at, updated_at FROM documents"
            " WHERE tenant_id = $1 ORDER BY created_at, id",
            tenant,
            prefetch=BATCH_ROWS,
        )
        async for row in cursor:
            doc = Document(
                id=str(row["id"]),
                title=row["title"],
                body=row["body"],
                version=row["version"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            lines.append(encode(doc))
    return b"".join(line + b"\n" for line in lines), len(lines)


async def export_documents(ctx: dict[str, Any], tenant: str, job_id: str) -> dict[str, Any]:
    tenant_var.set(tenant)
    job_try: int = ctx.get("job_try", 1)
    redis = ctx["redis"]
    router: TenantRouter = ctx["router"]
    storage: Storage = ctx["storage"]
    if router.shard_id(tenant) is None:
        await set_status(redis, job_id, "failed", error="unknown tenant", attempts=job_try)
        return {"status": "failed"}
    await set_status(redis, job_id, "running", attempts=job_try)
    key = export_key(tenant, job_id)
    try:
        # Inside the try: a tenant in the middle of a move (503 tenant_moving) is tried again later.
        shard = router.resolve(tenant, write=False)
        assert shard is not None
        body, count = await _render(shard, tenant)
        await storage.put(key, body, "application/x-ndjson")
    except TRANSIENT as exc:
        if job_try >= MAX_TRIES:
            await set_status(redis, job_id, "failed", error=f"gave up after {job_try} tries: {exc}")
            log.error("export failed", extra={"job_id": job_id, "tries": job_try})
            return {"status": "failed"}
        await set_status(redis, job_id, "queued", error=f"try {job_try} failed: {exc}")
        delay = retry_delay_seconds(job_try)
        log.warning("export retry", extra={"job_id": job_id, "try": job_try, "defer_s": delay})
        raise Retry(defer=delay) from exc
    await set_status(redis, job_id, "done", object_key=key, documents=count)
    log.info("export done", extra={"job_id": job_id, "documents": count})
    return {"status": "done", "documents": count, "key": key}
