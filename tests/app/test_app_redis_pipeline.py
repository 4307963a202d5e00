"""Cache lookups pipelined on one Redis connection (app.core.redis_pipeline), against a real redis-server:
every concurrent GET gets its own reply, a cancelled or failed one does not shift the others, and a dead or
silent Redis fails the waiting GETs within the socket timeout, after which the next GET reconnects."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from app_support import free_port
from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app.core.redis_pipeline import PipelinedGets
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
SOCKET_TIMEOUT = 0.3


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._pings, timeout=10, what="redis-server")

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def pool(self) -> ConnectionPool:
        return ConnectionPool(
            port=self.port, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            os.kill(srv.proc.pid, signal.SIGCONT)
        srv.stop()


def test_concurrent_gets_each_get_their_own_reply(server: RedisServer) -> None:
    server.client().mset({f"k{i}": f"v{i}" for i in range(200)})

    async def scenario() -> None:
        pool = server.pool()
        gets = PipelinedGets(pool)
        keys = [f"k{random.randrange(250)}" for _ in range(2000)]  # some keys do not exist
        replies = await asyncio.gather(*(gets.get(k) for k in keys))
        for key, reply in zip(keys, replies, strict=True):
            expected = f"v{key[1:]}".encode() if int(key[1:]) < 200 else None
            assert reply == expected
        assert len(pool._in_use_connections) == 1  # one connection for all of them
        await pool.disconnect()

    asyncio.run(scenario())


def test_the_gets_of_one_loop_turn_go_out_in_one_write(server: RedisServer) -> None:
    server.client().mset({f"k{i}": f"v{i}" for i in range(50)})

    async def scenario() -> None:
        pool = server.pool()
        gets = PipelinedGets(pool)
        await gets.get("k0")  # connected
        conn = gets._conn
        assert conn is not None
        writer = conn._writer
        assert writer is not None
        writes: list[bytes] = []
        real_write = writer.write

        def counting(data: bytes) -> None:
            writes.append(data)
            real_write(data)

        writer.write = counting  # type: ignore[method-assign]
        replies = await asyncio.gather(*(gets.get(f"k{i}") for i in range(50)))
        assert replies == [f"v{i}".encode() for i in range(50)]
        assert len(writes) == 1, "fifty GETs asked in one turn: one system call, not fifty"
        assert writes[0].count(b"GET") == 50
        await pool.disconnect()

    asyncio.run(scenario())


def test_cancelled_and_failed_gets_do_not_shift_the_replies(server: RedisServer) -> None:
    client = server.client()
    client.mset({f"k{i}": f"v{i}" for i in range(60)})
    client.rpush("a-list", "x")

    async def scenario() -> None:
        pool = server.pool()
        gets = PipelinedGets(pool)
        await gets.get("k0")  # connected
        tasks = [asyncio.create_task(gets.get("a-list" if i % 7 == 0 else f"k{i}")) for i in range(60)]
        await asyncio.sleep(0)  # every command written
        for i in range(0, 60, 5):
            tasks[i].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for i, result in enumerate(results):
            if i % 5 == 0:
                assert isinstance(result, asyncio.CancelledError)
            elif i % 7 == 0:
                assert isinstance(result, ResponseError)  # WRONGTYPE: only this GET fails
            else:
                assert result == f"v{i}".encode()
        assert await gets.get("k3") == b"v3"
        await pool.disconnect()

    asyncio.run(scenario())


def test_dead_redis_fails_the_waiters_and_the_next_get_reconnects(server: RedisServer) -> None:
    server.client().set("k", "v")

    async def scenario() -> None:
        pool = server.pool()
        gets = PipelinedGets(pool)
        assert await gets.get("k") == b"v"
        server.stop()
        began = time.monotonic()
        with pytest.raises(RedisConnectionError):
            await gets.get("k")
        with pytest.raises(RedisConnectionError):
            await gets.get("k")  # connecting to nothing fails too, fast
        assert time.monotonic() - began < 5 * SOCKET_TIMEOUT
        server.start()
        server.client().set("k", "again")
        assert await gets.get("k") == b"again"
        await pool.disconnect()

    asyncio.run(scenario())


def test_silent_redis_fails_every_waiter_within_the_socket_timeout(server: RedisServer) -> None:
    server.client().set("k", "v")
    assert server.proc is not None
    pid = server.proc.pid

    async def scenario() -> None:
        pool = server.pool()
        gets = PipelinedGets(pool)
        assert await gets.get("k") == b"v"
        os.kill(pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            results = await asyncio.gather(*(gets.get("k") for _ in range(20)), return_exceptions=True)
            took = time.monotonic() - began
        finally:
            os.kill(pid, signal.SIGCONT)
        assert all(isinstance(r, RedisConnectionError) for r in results)
        assert took < 4 * SOCKET_TIMEOUT
        # The late replies went with the dropped connection: a new one answers in order again.
        assert await gets.get("k") == b"v"
        await pool.disconnect()

    asyncio.run(scenario())


@pytest.mark.parametrize("key", ["nexus:doc:acme:7046dc70-def9-402f-b787-2a3a7e0f8fa1", "é-ключ", ""])
def test_get_is_packed_as_redis_py_packs_it(key: str) -> None:
    from redis.asyncio.connection import Connection

    from app.core.redis_pipeline import _pack_get

    assert _pack_get(key) == b"".join(Connection().pack_command("GET", key))
