"""Export job state and the job itself, shared by the API (enqueue, status) and the worker (run).

Idempotency: the job id is derived, not random. It is a hash of the tenant, the caller and either the
client's `Idempotency-Key` header or, without one, a fingerprint of the tenant's data (row count and latest
update). A retried POST therefore maps to the same id; the status key is created with HSETNX so only the first
POST enqueues, and arq itself refuses a second job with an id it already holds. The S3 object key derives from
the job id too, so a retried run overwrites the same object instead of writing a second export.
"""

from __future__ import annotations

import hashlib
import time

from arq.connections import ArqRedis

# Status keys are not queue keys: they live for days, then expire (no TTL-less garbage in the shared Redis).
STATUS_TTL_SECONDS = 7 * 24 * 3600
QUEUE_NAME = "arq:queue"
EXPORT_FUNCTION = "export_documents"
MAX_TRIES = 5


def export_job_id(tenant: str, subject: str, basis: str) -> str:
    digest = hashlib.sha256(f"{tenant}\x00{subject}\x00{basis}".encode()).hexdigest()
    return f"exp-{digest[:32]}"


def status_key(job_id: str) -> str:
    return f"nexus:export:{job_id}"


def retry_delay_seconds(job_try: int) -> int:
    """Exponential backoff: 2, 4, 8, 16 ... seconds, capped at one minute."""
    return int(min(2**job_try, 60))


async def set_status(redis: ArqRedis, job_id: str, status: str, **fields: str | int) -> None:
    key = status_key(job_id)
    mapping: dict[str, str | int] = {"status": status, "updated_at": int(time.time()), **fields}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type,unused-ignore]
        pipe.expire(key, STATUS_TTL_SECONDS)
        await pipe.execute()
