"""Redis shared by cache and queue under `maxmemory-policy noeviction` (see docs/app.md).

A Redis with a small maxmemory is filled by the API's own cache writes. Then: the queued job is still there
(nothing was evicted), the API still answers reads and writes (cache writes fail and count as errors), a new
enqueue is refused with a 503 rather than lost, and once the cache keys' TTLs run out the worker runs the job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from app_support import Procs, free_port, http_status

from devstack.configs import redis_command
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAXMEMORY = 5 * 1024 * 1024 // 2
# Long enough that the fill outruns expiry on a slow machine, short enough to wait out afterwards.
CACHE_TTL_SECONDS = 20
BIG_BODY = "x" * 90_000
FULL_MARGIN_BYTES = 64 * 1024
REPO = Path(__file__).resolve().parents[2]


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def small_redis_app(
    local_stack: Any, tmp_path: Path
) -> Iterator[tuple[str, redis.Redis, dict[str, str], Procs]]:
    procs = Procs(tmp_path, REPO)
    redis_port, api_port = free_port(), free_port()
    try:
        procs.start("redis", redis_command(port=redis_port, workdir=tmp_path, maxmemory=str(MAXMEMORY)))
        client = redis.Redis(port=redis_port, socket_timeout=5)
        wait_until(lambda: _pings(client), what="the small redis")
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        env = dict(os.environ) | local_stack.app_env
        env |= {
            "NEXUS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "NEXUS_PORT": str(api_port),
            "NEXUS_WORKERS": "1",
            "NEXUS_CACHE_TTL_SECONDS": str(CACHE_TTL_SECONDS),
            "PYTHONPATH": str(REPO),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        procs.start("api", [sys.executable, "-m", "app.serve"], env)
        base = f"http://127.0.0.1:{api_port}"
        wait_until(
            lambda: http_status(f"{base}/readyz") == 200, timeout=30, what="the API on the small redis"
        )
        yield base, client, env, procs
        client.close()
    finally:
        procs.stop_all()


def test_full_redis_keeps_the_queued_job_and_the_api_answers(
    small_redis_app: tuple[str, redis.Redis, dict[str, str], Procs],
) -> None:
    base, client, env, procs = small_redis_app
    with httpx.Client(base_url=base, timeout=30) as api:
        creds = {"tenant": "globex", "email": "full-redis@example.com", "password": "long enough pw"}
        assert api.post("/v1/auth/register", json=creds).status_code in (201, 409)
        headers = {"authorization": "Bearer " + api.post("/v1/auth/token", json=creds).json()["access_token"]}
        first = api.post("/v1/documents", json={"title": "keep", "body": "me"}, headers=headers).json()
        job_id = api.post("/v1/exports", headers=headers | {"Idempotency-Key": os.urandom(8).hex()}).json()[
            "job_id"
        ]
        assert client.zscore("arq:queue", job_id) is not None

        # Fill Redis through the API's own cache writes (each create caches ~90 kB) until a write of that
        # size is refused: from then on the API's cache writes fail.
        cache_full = False
        for _ in range(80):
            created = api.post("/v1/documents", json={"title": "big", "body": BIG_BODY}, headers=headers)
            assert created.status_code == 201, "writes succeed even when the cache cannot store them"
            try:
                client.set("nexus:doc:probe", BIG_BODY, ex=CACHE_TTL_SECONDS)
            except redis.exceptions.OutOfMemoryError:
                cache_full = True
                break
        used, keys = client.info("memory")["used_memory"], client.dbsize()
        assert cache_full, f"redis never refused a cache write: used_memory={used} keys={keys}"
        # A failed cache write stores nothing, so a little room is left below maxmemory. Take it with small
        # cache-shaped entries (TTL included) until Redis refuses even a tiny write: now it is full.
        for i in range(100_000):
            try:
                client.set(f"nexus:doc:filler:{i}", "x" * 200, ex=CACHE_TTL_SECONDS)
            except redis.exceptions.OutOfMemoryError:
                break
        # Full by a few bytes does not last: Redis frees a little by itself (its cron shrinks idle clients'
        # buffers; any other client of the API, such as its tenant routing's reads, changes when), and one
        # write fits again. Pin the limit just under what is used now, so Redis stays full until the keys
        # expire.
        client.config_set("maxmemory", client.info("memory")["used_memory"] - FULL_MARGIN_BYTES)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            client.set("nexus:doc:tiny", "x", ex=CACHE_TTL_SECONDS)

        # Nothing was evicted: the queued job and its payload are still there.
        assert client.zscore("arq:queue", job_id) is not None
        assert client.exists(f"arq:job:{job_id}") == 1
        # The API answers: reads, writes (the cache write fails and is counted), job status.
        assert api.get(f"/v1/documents/{first['id']}", headers=headers).json()["title"] == "keep"
        assert (
            api.post("/v1/documents", json={"title": "t", "body": BIG_BODY}, headers=headers).status_code
            == 201
        )
        assert api.get(f"/v1/exports/{job_id}", headers=headers).json()["status"] == "queued"
        metrics = api.get("/metrics").text
        assert 'nexus_cache_operations_total{result="set_error"}' in metrics
        # A new job is refused loudly rather than lost.
        refused = api.post("/v1/exports", headers=headers | {"Idempotency-Key": "while-full"})
        assert refused.status_code == 503
        assert "out of memory" in refused.json()["error"]["message"]
        client.config_set("maxmemory", MAXMEMORY)

        # Cache keys carry TTLs: once they expire there is room again, and the worker runs the job.
        wait_until(
            lambda: client.info("memory")["used_memory"] < MAXMEMORY * 0.8,
            timeout=CACHE_TTL_SECONDS + 20,
            what="cache keys to expire",
        )
        procs.start("worker", [sys.executable, "-m", "app.worker"], env)
        wait_until(
            lambda: api.get(f"/v1/exports/{job_id}", headers=headers).json()["status"] == "done",
            timeout=60,
            what="the queued export to run",
        )
