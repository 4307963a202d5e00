"""Cache reads pipelined on one Redis connection per process.

redis-py gives each command a connection of its own: checked out of the pool (a lock, a poll of the socket)
or, with a single connection, taken in turn behind a lock, so concurrent requests wait for each other's round
trip. Here every GET is queued as soon as it is asked and its reply awaited in order: Redis answers commands
on one connection in the order it received them, so one reader task hands each reply to the oldest waiter,
and one read from the socket often answers many requests. The GETs asked in one turn of the event loop go out
in one write (a callback scheduled by the first of them), not a system call each. Measured in
docs/benchmarks.md.

Failure keeps the cache's contract (an error is a miss): when the connection fails or a reply takes longer
than the socket timeout, every waiting GET fails with a ConnectionError, and the next GET connects anew.
"""

from __future__ import annotations

import asyncio
from collections import deque

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


def _pack_get(key: str) -> bytes:
    """GET as the RESP array redis-py's pack_command builds (about a tenth of its cost, measured)."""
    raw = key.encode()
    return b"*2\r\n$3\r\nGET\r\n$%d\r\n%b\r\n" % (len(raw), raw)


class PipelinedGets:
    """GET on one connection checked out of ``pool`` for good (``pool.disconnect()`` closes it)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._conn: AbstractConnection | None = None
        self._connecting: asyncio.Task[AbstractConnection] | None = None
        self._waiters: deque[asyncio.Future[bytes | None]] = deque()
        self._reading = False
        self._pending: list[bytes] = []
        """Commands queued in this turn of the event loop, in the order of their waiters."""

    async def get(self, key: str) -> bytes | None:
        conn = self._conn if self._conn is not None else await self._connect()
        if conn._writer is None:  # redis 5.3 (pinned): the connected stream
            raise RedisConnectionError("the cache connection is closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes | None] = loop.create_future()
        # No await between the two appends: the commands go out in the order the waiters are queued.
        self._waiters.append(waiter)
        self._pending.append(_pack_get(key))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        if not self._reading:
            self._reading = True
            asyncio.create_task(self._read(conn))  # noqa: RUF006 - ends on its own when nobody waits
        return await waiter

    def _flush(self) -> None:
        """Write the queued commands at once. redis-py's send_packed_command would wrap each write in a task
        with a timeout; the write is a buffered, non-blocking call, and a stuck socket shows up as a read
        timeout in the reader."""
        data, self._pending = b"".join(self._pending), []
        conn = self._conn
        if not data or conn is None:
            return  # the connection failed since: its waiters, these commands' among them, failed with it
        writer = conn._writer
        if writer is None:
            asyncio.get_running_loop().create_task(
                self._fail(conn, RedisConnectionError("the cache connection is closed"))
            )
            return
        writer.write(data)

    async def _connect(self) -> AbstractConnection:
        # Requests arriving while a connection is being made share that attempt (and its failure).
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._open())
        task = self._connecting
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._connecting is task:
                self._connecting = None

    async def _open(self) -> AbstractConnection:
        conn: AbstractConnection = await self._pool.get_connection()
        self._conn = conn
        return conn

    async def _read(self, conn: AbstractConnection) -> None:
        waiters = self._waiters
        try:
            while waiters:
                try:
                    # Bounded by the pool's socket timeout: a silent Redis fails the waiters, not the request.
                    reply = await conn.read_response(disable_decoding=True)
                    error: ResponseError | None = None
                except ResponseError as exc:
                    reply, error = None, exc  # an error reply (e.g. WRONGTYPE) belongs to one command
                waiter = waiters.popleft()
                if waiter.done():
                    continue  # its request was cancelled; the reply is read and dropped, order is kept
                if error is not None:
                    waiter.set_exception(error)
                else:
                    waiter.set_result(reply)
            self._reading = False
        except BaseException as exc:
            self._reading = False
            await self._fail(conn, exc)
            if not isinstance(exc, Exception):
                raise

    async def _fail(self, conn: AbstractConnection, exc: BaseException) -> None:
        """The connection can no longer be trusted to pair replies with waiters: fail them all, drop it."""
        if self._conn is conn:
            self._conn = None
        failed, self._waiters = self._waiters, deque()
        self._pending = []
        for waiter in failed:
            if not waiter.done():
                waiter.set_exception(RedisConnectionError(f"cache connection failed: {exc!r}"))
        await conn.disconnect(nowait=True)
        await self._pool.release(conn)
