"""How long a request may wait for its transaction to begin: the checkout from the process's pool, a new
connection's handshake, and the first round trip, which through the pooler waits for a server connection.

Two waits look the same from the request: a queue that moves (every pooled connection, or every PgBouncer
server connection, busy with requests that are being answered) and a server that answers nobody (frozen,
partitioned). The first is overload, worth waiting out a little longer; the second must fail fast. What tells
them apart is the pool's other requests: while any of them gets the answer to its first round trip, the
server is answering and the queue drains. So the wait ends at whichever comes first:

- `acquire_timeout_seconds` after the later of the request's start and the pool's last answer (no answer for
  that long: the server is suspected, the same bound as before for a frozen shard);
- `queue_timeout_seconds` after the request's start (load shedding: a queue that moves too slowly);
- the first check at or after the shard's breaker opened or the replica was marked down.

With `queue_timeout_seconds` equal to `acquire_timeout_seconds` this is the single bound of before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType


class BeginBound:
    """`async with BeginBound(...)`: raises TimeoutError (as `asyncio.timeout` does) at the bound above.

    One timer per request, rearmed only when it fires while the pool is still being answered."""

    __slots__ = ("_acquire", "_down", "_last_answer", "_latest", "_loop", "_started", "_timeout", "_timer")

    def __init__(
        self,
        acquire_seconds: float,
        queue_seconds: float,
        last_answer: Callable[[], float],
        down: Callable[[], bool],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._acquire = acquire_seconds
        self._latest = self._started + max(queue_seconds, acquire_seconds)
        self._last_answer = last_answer
        self._down = down
        self._timeout = asyncio.timeout(None)
        self._timer: asyncio.TimerHandle | None = None

    def limit(self) -> float:
        """The loop time at which the wait ends, as far as is known now."""
        return min(self._latest, max(self._started, self._last_answer()) + self._acquire)

    def _check(self) -> None:
        now = self._loop.time()
        limit = self.limit()
        if now >= limit or self._down():
            self._timer = None
            self._timeout.reschedule(now)  # a time already past: cancels the request's task now
        else:
            self._timer = self._loop.call_at(limit, self._check)

    async def __aenter__(self) -> BeginBound:
        await self._timeout.__aenter__()
        self._timer = self._loop.call_at(self._started + self._acquire, self._check)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._timeout.__aexit__(exc_type, exc, tb)  # turns its own cancellation into TimeoutError
