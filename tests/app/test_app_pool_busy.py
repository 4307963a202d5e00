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
from app.core.errors import DependencyUnavailableError
from app.core.settings import build_settings

pytestmark = pytest.mark.integration


async def _settle() -> None:
    """Let the loop's other tasks finish before ``asyncio.run`` closes it: a statement cut off by a timeout
    makes asyncpg send a CancelRequest from a task of its own on a new socket (``Connection._cancel``); closed
    mid-flight, that socket is an unclosed transport that a later test's garbage collection reports."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=5)


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
            await _settle()

    asyncio.run(scenario())


QUEUE_ACQUIRE = 0.3
HOLD = 0.12  # each request holds the pool's only connection this long, answered
CLIENTS = 8  # the last one waits about (CLIENTS - 1) * HOLD = 0.84 s, well past QUEUE_ACQUIRE


def _queue_through_one_connection(local_stack: Any, queue_timeout: float) -> tuple[int, int, float]:
    """CLIENTS concurrent one-statement reads through a writer pool of one connection, each `pg_sleep(HOLD)`:
    a queue that moves (the server answers each in turn) for longer than the acquire timeout. Returns the
    answered, the 503s and the longest wait of an answered request."""
    env = local_stack.app_env | {
        "NEXUS_DB_POOL_MAX": "1",
        "NEXUS_DB_ACQUIRE_TIMEOUT_SECONDS": str(QUEUE_ACQUIRE),
        "NEXUS_DB_QUEUE_TIMEOUT_SECONDS": str(queue_timeout),
    }
    settings = build_settings(env)

    codes: list[str] = []

    async def one(shard: Any) -> float | None:
        started = time.monotonic()
        try:
            row = await writer_fetchrow(shard, f"SELECT pg_sleep({HOLD}), 1 AS one")
        except DependencyUnavailableError as exc:  # busy, or cut off in its statement by the same bound
            codes.append(exc.code)
            return None
        assert row is not None
        assert row["one"] == 1
        return time.monotonic() - started

    async def scenario() -> tuple[int, int, float]:
        shards = await open_pools(settings)
        shard = shards["shard-a"]
        try:
            assert (await writer_fetchrow(shard, "SELECT 1"))[0] == 1  # the connection is open
            waits = await asyncio.gather(*(one(shard) for _ in range(CLIENTS)))
            assert shard.writer_down_since is None
            assert set(codes) <= {"shard_unavailable"}, codes
            answered = [w for w in waits if w is not None]
            return len(answered), CLIENTS - len(answered), max(answered, default=0.0)
        finally:
            await asyncio.gather(*(s.close() for s in shards.values()))
            await _settle()

    return asyncio.run(scenario())


def test_a_queue_that_moves_waits_past_the_acquire_timeout_without_a_503(local_stack: Any) -> None:
    answered, busy, longest = _queue_through_one_connection(local_stack, queue_timeout=3.0)
    assert (answered, busy) == (CLIENTS, 0), "a healthy server's queue is waited out"
    assert longest > 2 * QUEUE_ACQUIRE, f"the queue lasted {longest:.2f} s: it did not reproduce the case"


def test_without_a_queue_bound_the_same_queue_gets_503s(local_stack: Any) -> None:
    """The case above with the single bound of before (queue timeout = acquire timeout): the requests past it
    get their 503, as at 500 clients in `make bench`."""
    answered, busy, _ = _queue_through_one_connection(local_stack, queue_timeout=QUEUE_ACQUIRE)
    assert busy > 0, (answered, busy)
    assert answered > 0, (answered, busy)
