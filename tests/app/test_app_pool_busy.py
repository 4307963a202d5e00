"""A pool whose every connection is in use for the whole acquire timeout is overload, not a dead server: the
request gets its 503 (PoolBusyError), and the shard's breaker stays closed, so the next request is served as
soon as a connection is free (before, each such timeout opened the breaker and failed the whole shard fast:
tens of thousands of 503s at 500 clients in `make bench`, docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from app.core.db import PoolBusyError, open_pools, replica_read, tenant_tx, writer_fetchrow
from app.core.settings import build_settings

pytestmark = pytest.mark.integration


def test_a_full_pool_is_a_503_that_leaves_the_breaker_closed(local_stack: Any) -> None:
    env = local_stack.app_env | {"NEXUS_DB_POOL_MAX": "1", "NEXUS_DB_ACQUIRE_TIMEOUT_SECONDS": "0.3"}
    settings = build_settings(env)

    async def scenario() -> None:
        shards = await open_pools(settings)
        shard = shards["shard-a"]
        try:
            async with tenant_tx(shard, "acme") as held:  # the writer pool's only connection
                started = time.monotonic()
                with pytest.raises(PoolBusyError) as busy:
                    await writer_fetchrow(shard, "SELECT 1")
                assert time.monotonic() - started < 1.0
                assert (busy.value.status, busy.value.code) == (503, "shard_unavailable")
                with pytest.raises(PoolBusyError):
                    async with tenant_tx(shard, "acme"):
                        pass
                assert shard.writer_down_since is None, "overload must not open the breaker"
                assert await held.fetchval("SELECT 1") == 1
            assert (await writer_fetchrow(shard, "SELECT 2 AS two"))["two"] == 2
            # Full replica pools: a 503, not a replica marked down and the read sent to the writer.
            async with contextlib.AsyncExitStack() as held_readers:
                for _ in shard.readers:  # round-robin: one transaction holds each replica's only connection
                    await held_readers.enter_async_context(tenant_tx(shard, "acme", role="reader"))
                with pytest.raises(PoolBusyError):
                    await replica_read(shard, "acme", lambda conn: conn.fetchval("SELECT 1"))
            assert all(r.healthy(time.monotonic()) for r in shard.readers)
        finally:
            await asyncio.gather(*(s.close() for s in shards.values()))

    asyncio.run(scenario())
