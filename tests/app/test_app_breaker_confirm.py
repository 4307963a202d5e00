"""A timeout is a suspicion, not a dead server: before a shard's breaker opens or a replica is marked down, a
check on a connection of its own must get no answer either (`ShardPools.suspect`, `confirm_alive`).

The false positive it fixes (`make bench`, 500 clients, docs/benchmarks.md): PgBouncer's server connections
all busy, a request's first round trip waits in PgBouncer's queue past `NEXUS_DB_ACQUIRE_TIMEOUT_SECONDS`, and
the breaker opened, failing the whole shard fast for everyone although the server was answering. Here the
queue is made on purpose: every server connection of shard-a's PgBouncer pool runs `pg_sleep`. A frozen
server (every byte held by a proxy, as SIGSTOP does) must still trip the breaker, and mark a replica down,
within the acquire timeout plus the confirmation's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import asyncpg
import pytest

from app.core.db import PoolBusyError, ShardPools, open_pools, replica_read, tenant_tx, writer_fetchrow
from app.core.errors import DependencyUnavailableError
from app.core.settings import build_settings

pytestmark = pytest.mark.integration

ACQUIRE = 0.3
CONFIRM = 3.0  # longer than the queue below lasts after the request gave up: the pooler answers in time


class StallingProxy:
    """A TCP proxy in front of a server that can hold every byte, both ways, while paused: to its clients the
    server is frozen (connections are accepted, nothing is answered), as with SIGSTOP; nothing is lost."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        for pipe in pipes:
            pipe.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self.flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()


def _settings(local_stack: Any, **ports: int) -> Any:
    """The app's settings on the local stack, with shard-a's writer and/or replica at other ports."""
    tenant_map = local_stack.tenant_map
    shard = tenant_map["shards"]["shard-a"]
    if "writer" in ports:
        shard["writer"]["port"] = ports["writer"]
    if "reader" in ports:
        shard["readers"][0]["port"] = ports["reader"]
    return build_settings(
        local_stack.app_env
        | {
            "NEXUS_TENANT_MAP": json.dumps(tenant_map),
            "NEXUS_TENANT_MAP_FILE": "",
            "NEXUS_DB_ACQUIRE_TIMEOUT_SECONDS": str(ACQUIRE),
            "NEXUS_DB_CONFIRM_TIMEOUT_SECONDS": str(CONFIRM),
        }
    )


async def _confirmed(shard: ShardPools, role: str) -> None:
    """Wait for the confirmation the last timeout started on `role` (the writer or the first replica)."""
    handle = shard.writer if role == "writer" else shard.readers[0]
    assert handle.confirming is not None, "a timeout starts a confirmation"
    await asyncio.wait_for(asyncio.shield(handle.confirming), CONFIRM + 2)


async def _one(shard: ShardPools, sql: str) -> object:
    row = await writer_fetchrow(shard, sql)
    assert row is not None
    return row[0]


def _pool_size(local_stack: Any) -> int:
    for line in local_stack.pgbouncer_admin("SHOW CONFIG").splitlines():
        key, _, rest = line.partition("|")
        if key == "default_pool_size":
            return int(rest.split("|")[0])
    raise AssertionError("PgBouncer's SHOW CONFIG has no default_pool_size")


def test_a_pooler_that_queues_past_the_acquire_timeout_is_slow_not_down(local_stack: Any) -> None:
    settings = _settings(local_stack)
    servers = _pool_size(local_stack)
    assert settings.db.acquire_timeout_seconds == ACQUIRE

    async def scenario() -> None:
        shards = await open_pools(settings)
        shard = shards["shard-a"]
        sleepers = [await asyncpg.connect(**shard.writer.connect_kwargs) for _ in range(servers)]
        try:
            # Every PgBouncer server connection of shard-a busy for 1.5 s: each new query queues that long.
            queue = [asyncio.create_task(c.fetchval("SELECT pg_sleep(1.5)")) for c in sleepers]
            await _until_sleeping(local_stack, servers)
            started = time.monotonic()
            with pytest.raises(DependencyUnavailableError) as slow:
                await writer_fetchrow(shard, "SELECT 1")
            assert not isinstance(slow.value, PoolBusyError), "our pool had room: the wait was PgBouncer's"
            assert time.monotonic() - started < ACQUIRE + 0.5, "the request still gets its 503 in time"
            assert (slow.value.status, slow.value.code) == (503, "shard_unavailable")
            assert slow.value.message == "database shard-a.writer is not answering in time"
            # Before: the breaker opened here, and the shard failed fast for everyone.
            assert shard.writer_down_since is None
            with pytest.raises(DependencyUnavailableError):
                async with tenant_tx(shard, "acme"):
                    pass
            assert shard.writer_down_since is None
            await _confirmed(shard, "writer")  # it waited in the same queue and got its answer
            assert shard.writer_down_since is None, "a pooler that answers the confirmation is not down"
            shard.check_writer()
            await asyncio.gather(*queue)
            assert await _one(shard, "SELECT 2") == 2
        finally:
            for conn in sleepers:
                conn.terminate()
            await asyncio.gather(*(s.close() for s in shards.values()))

    asyncio.run(scenario())


async def _until_sleeping(local_stack: Any, servers: int) -> None:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1.5)' AND state = 'active'"
    deadline = time.monotonic() + 5
    while int(await asyncio.to_thread(local_stack.psql, "shard-a", sql)) < servers:
        assert time.monotonic() < deadline, "the sleepers did not all get a server connection"
        await asyncio.sleep(0.02)


def test_a_replica_that_stalls_briefly_stays_in_rotation(local_stack: Any) -> None:
    replica_port = local_stack.tenant_map["shards"]["shard-a"]["readers"][0]["port"]

    async def scenario() -> None:
        async with StallingProxy(replica_port) as proxy:
            shards = await open_pools(_settings(local_stack, reader=proxy.port))
            shard = shards["shard-a"]
            try:
                assert await replica_read(shard, "acme", lambda c: c.fetchval("SELECT 1")) == 1
                proxy.flowing.clear()  # a 1 s stall: longer than the acquire timeout, shorter than the check
                loop = asyncio.get_running_loop()
                loop.call_later(1.0, proxy.flowing.set)
                started = time.monotonic()
                # The read is answered (by the writer) within twice the acquire timeout.
                assert await replica_read(shard, "acme", lambda c: c.fetchval("SELECT 2")) == 2
                assert time.monotonic() - started < 2 * ACQUIRE + 0.5
                await _confirmed(shard, "reader")
                assert shard.readers[0].healthy(time.monotonic()), "a replica that answered stays in rotation"
                assert shard.pick_reader() is shard.readers[0]
            finally:
                proxy.flowing.set()
                await asyncio.gather(*(s.close() for s in shards.values()))

    asyncio.run(scenario())


def test_a_frozen_writer_and_replica_still_trip_quickly(local_stack: Any) -> None:
    tenant_map = local_stack.tenant_map["shards"]["shard-a"]
    writer_port, replica_port = tenant_map["writer"]["port"], tenant_map["readers"][0]["port"]

    async def scenario() -> None:
        async with StallingProxy(writer_port) as writer, StallingProxy(replica_port) as replica:
            shards = await open_pools(_settings(local_stack, writer=writer.port, reader=replica.port))
            shard = shards["shard-a"]
            try:
                assert await _one(shard, "SELECT 1") == 1
                assert await replica_read(shard, "acme", lambda c: c.fetchval("SELECT 1")) == 1
                writer.flowing.clear()
                replica.flowing.clear()
                frozen = time.monotonic()
                for _ in range(2):  # before the confirmation: each request waits its acquire timeout
                    with pytest.raises(DependencyUnavailableError) as first:
                        await writer_fetchrow(shard, "SELECT 1")
                    assert first.value.code == "shard_unavailable"
                with pytest.raises(DependencyUnavailableError):
                    await replica_read(shard, "acme", lambda c: c.fetchval("SELECT 1"))
                await _confirmed(shard, "writer")
                await _confirmed(shard, "reader")
                tripped = time.monotonic() - frozen
                assert shard.writer_down_since is not None, "the breaker opened"
                assert not shard.readers[0].healthy(time.monotonic()), "the replica is marked down"
                assert tripped < 3 * ACQUIRE + CONFIRM + 1.0, tripped
                started = time.monotonic()
                with pytest.raises(DependencyUnavailableError):
                    await writer_fetchrow(shard, "SELECT 1")
                with pytest.raises(DependencyUnavailableError):
                    await replica_read(shard, "acme", lambda c: c.fetchval("SELECT 1"))
                assert time.monotonic() - started < 0.1, "then at once: the breaker"
            finally:
                writer.flowing.set()
                replica.flowing.set()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*(s.close() for s in shards.values()))

    asyncio.run(scenario())


def test_a_queue_behind_a_frozen_writer_still_fails_within_the_acquire_timeout(local_stack: Any) -> None:
    """The queue bound (`NEXUS_DB_QUEUE_TIMEOUT_SECONDS`, long here) holds only while the pool is answered: a
    request queued behind one that hangs on a frozen writer gets its 503 within the acquire timeout."""
    writer_port = local_stack.tenant_map["shards"]["shard-a"]["writer"]["port"]

    async def scenario() -> None:
        async with StallingProxy(writer_port) as writer:
            settings = _settings(local_stack, writer=writer.port)
            settings = settings.model_copy(
                update={"db": settings.db.model_copy(update={"pool_max": 1, "queue_timeout_seconds": 5.0})}
            )
            shards = await open_pools(settings)
            shard = shards["shard-a"]
            try:
                assert await _one(shard, "SELECT 1") == 1  # answered: the pool's last answer is now
                assert shard.writer.pool.get_max_size() == 1, "two of three wait in the queue"
                writer.flowing.clear()
                started = time.monotonic()

                async def timed() -> tuple[BaseException | None, float]:
                    try:
                        await writer_fetchrow(shard, "SELECT 1")
                    except DependencyUnavailableError as exc:
                        return exc, time.monotonic() - started
                    return None, time.monotonic() - started

                outcomes = await asyncio.gather(timed(), timed(), timed())
                for exc, seconds in outcomes:
                    assert isinstance(exc, DependencyUnavailableError), "a frozen writer answers nobody"
                    assert exc.code == "shard_unavailable"
                    assert seconds < ACQUIRE + 0.5, f"{seconds:.2f} s: the queue bound must not apply"
            finally:
                writer.flowing.set()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*(s.close() for s in shards.values()))

    asyncio.run(scenario())
