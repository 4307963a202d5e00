"""Connection pools per shard and role, and tenant-scoped transactions.

The writer pool talks to the pooler (RDS Proxy in AWS, PgBouncer locally). PgBouncer 1.18 in transaction mode
does not keep protocol-level prepared statements across transactions, so asyncpg's statement cache is off.
Reader pools talk to the replicas directly; a replica that fails to connect is skipped for a while and reads
fall back to the writer when no replica is healthy.

A timeout is a suspicion, not a verdict: a pooler that queues the query behind its server connections, or a
machine too busy to schedule the answer, looks the same from the request as a frozen server. Only a second,
pool-independent check (a connection of its own and `SELECT 1`, `confirm_timeout_seconds`) that gets no
answer either opens a shard's breaker or marks a replica down. An error that is the server's or the network's
own answer (refused, reset, PgBouncer's failed server login) still does so at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl as ssl_lib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from app.core.dbtls import verifying_context
from app.core.dbwait import BeginBound
from app.core.errors import DependencyUnavailableError, tenant_moving, tenant_not_on_shard
from app.core.settings import DatabaseSettings, Settings
from app.core.tenantmap import TENANT_ID_RE, Endpoint, Shard

log = logging.getLogger("app.db")
T = TypeVar("T")

# Errors that mean "the server is not reachable", as opposed to a bad query.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionFailureError,
    asyncpg.AdminShutdownError,
    # Class 08 (connection exception), e.g. PgBouncer's "server login has been failing" (08P01) while the
    # shard's primary is down.
    asyncpg.PostgresConnectionError,
)

# Of those, the ones that may only mean "slow": confirmed by `confirm_alive` before they count.
AMBIGUOUS_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncpg.TooManyConnectionsError)


def _ssl_context(settings: DatabaseSettings) -> ssl_lib.SSLContext | bool:
    if settings.ssl == "disable":
        return False
    # verify-full against NEXUS_DB_CA_BUNDLE: the RDS bundle is not in the system store, the devstack's CA
    # is in no store at all. The settings refuse verify-full without a bundle.
    assert settings.ca_bundle is not None
    return verifying_context(settings.ca_bundle)


@dataclass
class PoolHandle:
    """One asyncpg pool with a name for metrics and error messages."""

    name: str
    role: str
    endpoint: Endpoint
    pool: asyncpg.Pool
    connect_kwargs: dict[str, Any] = field(default_factory=dict, repr=False)
    down_until: float = 0.0
    answered_at: float = float("-inf")  # when a confirmation last got its answer
    answers: int = 0  # first round trips that came back: the server answering someone
    last_answer_at: float = float("-inf")  # the loop's time of the last of those (app.core.dbwait)
    confirming: asyncio.Task[None] | None = field(default=None, repr=False)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until

    def answered(self) -> None:
        """A first round trip came back."""
        self.answers += 1
        self.last_answer_at = asyncio.get_running_loop().time()


@dataclass
class ShardPools:
    """A shard's pools, and whether its writer is known to be down.

    The writer's state is a circuit breaker: the first request that finds the writer unreachable (a
    connection error, or no transaction begun within the acquire timeout and a confirmation that gets no
    answer either) opens it, and from then on that shard's requests get their 503 at once instead of each
    waiting out a timeout. One background task
    probes the writer every `shard_probe_interval_seconds` and closes the breaker on the first answer.
    Other shards have breakers of their own: one shard's outage costs the others nothing.
    """

    shard_id: str
    writer: PoolHandle
    readers: list[PoolHandle]
    settings: DatabaseSettings
    _rr: itertools.count[int] = field(default_factory=itertools.count)
    writer_down_since: float | None = None
    _prober: asyncio.Task[None] | None = None

    def writer_error(self) -> DependencyUnavailableError:
        return DependencyUnavailableError(f"database {self.writer.name}", code="shard_unavailable")

    def check_writer(self) -> None:
        """Fail fast while the breaker is open."""
        if self.writer_down_since is not None:
            raise self.writer_error()

    def writer_failed(self) -> None:
        """Open the breaker and start the probe that will close it."""
        if self.writer_down_since is None:
            self.writer_down_since = time.monotonic()
            log.warning("shard writer unreachable, failing fast", extra={"shard": self.shard_id})
        if self._prober is None or self._prober.done():
            self._prober = asyncio.get_running_loop().create_task(self._probe_until_back())

    def writer_answered(self) -> None:
        if self.writer_down_since is not None:
            down_for = time.monotonic() - self.writer_down_since
            self.writer_down_since = None
            log.warning("shard writer back", extra={"shard": self.shard_id, "down_s": round(down_for, 3)})

    async def _probe_until_back(self) -> None:
        interval = self.settings.shard_probe_interval_seconds
        while self.writer_down_since is not None:
            try:
                reason = await probe(self.writer, self.settings.acquire_timeout_seconds)
            except Exception as exc:  # the breaker must never stay open because its probe died
                reason = type(exc).__name__
                log.warning("shard probe failed", extra={"shard": self.shard_id, "error": repr(exc)})
            if reason is None:
                self.writer_answered()
                return
            await asyncio.sleep(interval)

    def begin_bound(self, handle: PoolHandle) -> BeginBound:
        """The bound on `handle`'s checkout and first round trip: `acquire_timeout_seconds` without an answer
        from the pool, up to `queue_timeout_seconds` while its other requests are being answered."""
        settings = self.settings
        if handle is self.writer:
            return BeginBound(
                settings.acquire_timeout_seconds,
                settings.queue_timeout_seconds,
                lambda: handle.last_answer_at,
                lambda: self.writer_down_since is not None,
            )
        return BeginBound(
            settings.acquire_timeout_seconds,
            settings.queue_timeout_seconds,
            lambda: handle.last_answer_at,
            lambda: not handle.healthy(time.monotonic()),
        )

    def pick_reader(self, avoid: PoolHandle | None = None) -> PoolHandle:
        """Round-robin over healthy replicas (but `avoid`); the writer when none is healthy."""
        now = time.monotonic()
        healthy = [r for r in self.readers if r.healthy(now) and r is not avoid]
        if not healthy:
            return self.writer
        return healthy[next(self._rr) % len(healthy)]

    def mark_down(self, handle: PoolHandle) -> None:
        if handle is not self.writer:
            handle.down_until = time.monotonic() + self.settings.replica_retry_seconds
            log.warning("replica marked unhealthy", extra={"shard": self.shard_id, "pool": handle.name})

    def failed(self, handle: PoolHandle, exc: BaseException | None = None) -> None:
        """`handle`'s server did not answer a request (`exc`, None for a probe's own verdict). A timeout only
        starts a confirmation; anything else opens the breaker or marks the replica down at once."""
        if isinstance(exc, AMBIGUOUS_ERRORS):
            self.suspect(handle)
        elif handle is self.writer:
            self.writer_failed()
        else:
            self.mark_down(handle)

    def probe_failed(self, handle: PoolHandle, reason: str) -> None:
        """A `probe` (e.g. /readyz) got `reason` instead of an answer: a timeout is a suspicion, as above."""
        self.failed(handle, TimeoutError() if reason == "timeout" else None)

    def suspect(self, handle: PoolHandle) -> None:
        """Start one confirmation of `handle` unless it is known down, one is running, or one got its answer
        within the last probe interval (under overload timeouts come in streams)."""
        now = time.monotonic()
        known_down = self.writer_down_since is not None if handle is self.writer else not handle.healthy(now)
        running = handle.confirming is not None and not handle.confirming.done()
        recent = now - handle.answered_at < self.settings.shard_probe_interval_seconds
        if not (known_down or running or recent):
            handle.confirming = asyncio.get_running_loop().create_task(self._confirm(handle))

    async def _confirm(self, handle: PoolHandle) -> None:
        """The check: `confirm_alive`, or any other request of this process getting its answer from the same
        pool meanwhile (under load that comes first: the queue moves; a frozen server answers nobody)."""
        answers = handle.answers
        check = asyncio.ensure_future(confirm_alive(handle, self.settings.confirm_timeout_seconds))
        while not check.done() and handle.answers == answers:
            await asyncio.wait((check,), timeout=0.05)
        reason = check.result() if check.done() else None
        check.cancel()
        if reason is None:
            handle.answered_at = time.monotonic()
            log.info("database slow, not down: the confirmation answered", extra={"pool": handle.name})
            return
        log.warning("database timeout confirmed", extra={"pool": handle.name, "error": reason})
        self.failed(handle)

    async def close(self) -> None:
        background = [h.confirming for h in (self.writer, *self.readers) if h.confirming is not None]
        if self._prober is not None:
            background.append(self._prober)
        for task in background:
            task.cancel()
        # Awaited, so that no check is left pending (with its socket) when the event loop closes.
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.gather(*(h.pool.close() for h in (self.writer, *self.readers)), return_exceptions=True)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL), a round trip
    on every release that undoes nothing here: the tenant is set with set_config(..., true), which ends with
    the transaction, and the API takes no advisory lock, listens to nothing and keeps no cursor outside a
    transaction. asyncpg still rolls back a transaction left open before calling this."""


def _make_pool(
    shard_id: str,
    role: str,
    index: int,
    endpoint: Endpoint,
    database: str,
    shard: Shard,
    password: str,
    settings: DatabaseSettings,
) -> PoolHandle:
    connect_kwargs: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "database": database,
        "user": shard.username,
        "password": password,
        "statement_cache_size": 0,
        "ssl": _ssl_context(settings),
        "server_settings": {"application_name": f"nexus-{role}"},
    }
    pool = asyncpg.create_pool(
        **connect_kwargs,
        # min_size=0: the process starts even when a database is down; /readyz reports it.
        min_size=0,
        max_size=settings.pool_max,
        timeout=settings.connect_timeout_seconds,
        command_timeout=settings.command_timeout_seconds,
        max_inactive_connection_lifetime=60.0,
        reset=_no_session_state,
    )
    name = f"{shard_id}.{role}" if role == "writer" else f"{shard_id}.reader{index}"
    return PoolHandle(name=name, role=role, endpoint=endpoint, pool=pool, connect_kwargs=connect_kwargs)


async def open_pools(settings: Settings) -> dict[str, ShardPools]:
    """Create (lazily connecting) pools for every shard in the tenant map."""
    shards: dict[str, ShardPools] = {}
    for shard_id, shard in settings.tenant_map.shards.items():
        password = settings.db_passwords[shard_id].get_secret_value()
        writer = _make_pool(shard_id, "writer", 0, shard.writer, shard.database, shard, password, settings.db)
        readers = [
            _make_pool(shard_id, "reader", i, ep, shard.reader_database, shard, password, settings.db)
            for i, ep in enumerate(shard.readers)
        ]
        for handle in (writer, *readers):
            await handle.pool  # with min_size=0 this connects nothing
        shards[shard_id] = ShardPools(shard_id, writer, readers, settings.db)
    return shards


@asynccontextmanager
async def tenant_tx(
    shards: ShardPools, tenant: str, *, role: str = "writer"
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on the shard with `app.tenant_id` set, the key of every row-level security policy.

    `set_config(..., true)` is local to the transaction, so the setting never leaks to the next client of a
    pooled server connection.
    """
    handle, conn = await _begin(shards, shards.writer if role == "writer" else shards.pick_reader(), tenant)
    try:
        async with _transaction(conn, readonly=role != "writer"):
            yield conn
    except DependencyUnavailableError:
        raise
    except Exception as exc:
        # A server that goes away mid-transaction surfaces as a connection error, or (when the ROLLBACK
        # on the way out hits the dead connection) as an asyncpg state error on a closed connection.
        if not isinstance(exc, CONNECTION_ERRORS) and not _closed(conn):
            refused = guard_error(shards, tenant, exc) if role == "writer" else None
            if refused is not None:
                raise refused from exc
            raise
        shards.failed(handle, exc)
        raise _unavailable(shards, handle, exc) from exc
    finally:
        await _release(handle, conn)


def _unavailable(shards: ShardPools, handle: PoolHandle, exc: BaseException) -> DependencyUnavailableError:
    """The 503: "unreachable" for a server's own refusal, "not answering in time" for a timeout (slow or
    frozen: the confirmation decides, not this request)."""
    detail = "not answering in time" if isinstance(exc, AMBIGUOUS_ERRORS) else "unreachable"
    return DependencyUnavailableError(f"database {handle.name}", detail, code="shard_unavailable")


def begin_sql(tenant: str, *, readonly: bool) -> str:
    """BEGIN and the tenant setting as one simple-protocol message: one round trip where asyncpg's
    transaction() and a parameterised set_config take three (BEGIN, prepare, execute). That message carries
    no parameters, so the tenant is a literal; it comes from a verified token and the tenant map, and must
    match the tenant id pattern (lowercase letters, digits, '-'), so it cannot hold a quote."""
    if not TENANT_ID_RE.fullmatch(tenant):
        raise ValueError(f"not a tenant id: {tenant!r}")
    if readonly:
        return f"BEGIN READ ONLY; SELECT set_config('app.tenant_id', '{tenant}', true)"
    # The shard's own word on the tenant, in the same message (migration 0003): a write transaction of a
    # tenant the shard does not own fails here, one that is frozen for a move becomes read-only.
    return (
        f"BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true); SELECT nexus_tenant_guard('{tenant}')"
    )


GUARD_MOVING = "NXT01"
GUARD_NOT_ON_SHARD = "NXT02"


def guard_error(shards: ShardPools, tenant: str, exc: BaseException) -> DependencyUnavailableError | None:
    """The 503 for what the tenant guard said (its SQLSTATEs, or a write refused in a frozen tenant's
    read-only transaction), None for any other error."""
    if not isinstance(exc, asyncpg.PostgresError):
        return None
    state = exc.sqlstate
    if state in (GUARD_MOVING, "25006"):  # 25006: read_only_sql_transaction
        return tenant_moving(tenant)
    if state == GUARD_NOT_ON_SHARD:
        return tenant_not_on_shard(tenant, shards.shard_id)
    return None


@asynccontextmanager
async def _transaction(conn: asyncpg.Connection, *, readonly: bool) -> AsyncIterator[None]:
    """What conn.transaction() does (commit on success, roll back on any exception), once `_begin` has
    opened the transaction with the tenant set."""
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


def _closed(conn: asyncpg.Connection) -> bool:
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # already detached from its pool proxy: asyncpg closed it
        return True


async def _release(handle: PoolHandle, conn: asyncpg.Connection) -> None:
    try:
        await handle.pool.release(conn)
    except Exception as exc:
        # asyncpg has already terminated a connection it could not reset (its server went away); the pool
        # opens a new one on the next acquire. The request's outcome is decided: do not turn it into a 500.
        log.warning("connection dropped on release", extra={"pool": handle.name, "error": type(exc).__name__})


class PoolBusyError(DependencyUnavailableError):
    """Every connection of a pool was in use for the whole acquire timeout: the process is overloaded, which
    says nothing about the server. A 503 like any other (same code, `Retry-After`), but it neither opens the
    shard's breaker nor marks a replica down: the requests holding the connections do that if the server
    really stopped answering them."""

    def __init__(self, handle: PoolHandle) -> None:
        super().__init__(
            f"database {handle.name}", "busy (every pooled connection in use)", code="shard_unavailable"
        )


def _waited_for_a_slot(handle: PoolHandle, conn: asyncpg.Connection | None, exc: BaseException) -> bool:
    """The acquire timed out before a connection was handed over, while the pool was full and none idle."""
    pool = handle.pool
    return (
        conn is None
        and isinstance(exc, TimeoutError)
        and pool.get_size() >= pool.get_max_size()
        and pool.get_idle_size() == 0
    )


async def writer_fetchrow(shards: ShardPools, sql: str, *args: object) -> asyncpg.Record | None:
    """One statement on the shard's writer in its own implicit transaction (no BEGIN, no COMMIT): for the SQL
    functions that set `app.tenant_id` themselves with set_config(..., true) and read under row-level security
    (migration 0002). Two round trips through the pooler (asyncpg's prepare, then bind and execute; the server
    connection stays with us in between because the prepare ends with a Flush, not a Sync) where a
    `tenant_tx` read takes four. The same bounds as a transaction's start: the checkout and the statement
    within `acquire_timeout_seconds`, and a writer that does not answer opens the shard's breaker."""
    handle = shards.writer
    shards.check_writer()
    conn: asyncpg.Connection | None = None
    try:
        async with shards.begin_bound(handle):
            conn = await handle.pool.acquire()
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            handle.answered()
            return row
    except Exception as exc:
        if _waited_for_a_slot(handle, conn, exc):
            raise PoolBusyError(handle) from exc
        if not isinstance(exc, CONNECTION_ERRORS) and not (conn is not None and _closed(conn)):
            raise
        if conn is not None:
            # Cut off in the middle of a statement: its state is unknown, so it is not handed out again.
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
        shards.failed(handle, exc)
        raise _unavailable(shards, handle, exc) from exc
    finally:
        if conn is not None:
            await _release(handle, conn)


async def replica_read(
    shards: ShardPools, tenant: str, query: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """A read-only query on a replica. When the replica fails in the middle (it was stopped, it crashed),
    the query runs once more on whatever is healthy now (another replica or the writer): reads are
    idempotent, so the client sees an answer instead of a 503."""
    try:
        async with tenant_tx(shards, tenant, role="reader") as conn:
            return await query(conn)
    except DependencyUnavailableError as exc:
        if isinstance(exc, PoolBusyError) or exc.dependency == shards.writer_error().dependency:
            raise
        async with tenant_tx(shards, tenant, role="reader") as conn:
            return await query(conn)


async def _begin(
    shards: ShardPools, handle: PoolHandle, tenant: str
) -> tuple[PoolHandle, asyncpg.Connection]:
    """A connection of `handle`'s pool inside a transaction with the tenant set, or a 503 within
    `acquire_timeout_seconds`: that bound covers the checkout, a new connection's TCP and TLS handshake
    and the first round trip, which through the pooler waits for a server connection. A writer that does
    not answer in that time opens the shard's breaker; a replica is skipped and the read retried once on
    whatever is healthy now (another replica or the writer)."""
    if handle is shards.writer:
        shards.check_writer()
    sql = begin_sql(tenant, readonly=handle is not shards.writer)
    conn: asyncpg.Connection | None = None
    try:
        async with shards.begin_bound(handle):
            conn = await handle.pool.acquire()
            await conn.execute(sql)
            handle.answered()
    except Exception as exc:
        if _waited_for_a_slot(handle, conn, exc):
            raise PoolBusyError(handle) from exc
        # As in tenant_tx: a server going away can surface as some other error on a closed connection.
        if not isinstance(exc, CONNECTION_ERRORS) and not (conn is not None and _closed(conn)):
            if conn is not None:
                await _release(handle, conn)
            refused = guard_error(shards, tenant, exc)
            if refused is not None:
                raise refused from exc
            raise
        if conn is not None:
            # Half-way through its first statement: its state is unknown, so it is not handed out again
            # (asyncpg may already have closed and detached it).
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
            await _release(handle, conn)
        shards.failed(handle, exc)
        if handle is not shards.writer:
            fallback = shards.pick_reader(avoid=handle)
            if fallback is not handle:
                return await _begin(shards, fallback, tenant)
        raise _unavailable(shards, handle, exc) from exc
    return handle, conn


async def probe(handle: PoolHandle, limit_seconds: float) -> str | None:
    """None when `SELECT 1` answers within `limit_seconds`, else a short reason. On a pooled connection, or on
    one of its own when the pool is full (waiting for a busy pool's slot says nothing about the server)."""
    pool = handle.pool
    if pool.get_size() >= pool.get_max_size() and pool.get_idle_size() == 0:
        return await confirm_alive(handle, limit_seconds)
    try:
        async with asyncio.timeout(limit_seconds):
            async with handle.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    except TimeoutError:
        return "timeout"
    except CONNECTION_ERRORS as exc:
        return type(exc).__name__
    except asyncpg.PostgresError as exc:
        return type(exc).__name__
    return None


async def confirm_alive(handle: PoolHandle, limit_seconds: float) -> str | None:
    """`probe` on a connection of its own, outside the pool (whose slots may all be taken by the requests that
    timed out): connect, `SELECT 1`, close, all within `limit_seconds`. Through PgBouncer it waits in the same
    queue as everyone else, so a pooler that is only slow answers it, and a frozen server does not."""
    conn: asyncpg.Connection | None = None
    try:
        async with asyncio.timeout(limit_seconds):
            conn = await asyncpg.connect(**handle.connect_kwargs, timeout=limit_seconds)
            await conn.fetchval("SELECT 1")
            await conn.close()
    except TimeoutError:
        reason = "timeout"
    except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
        reason = type(exc).__name__
    else:
        return None
    if conn is not None:
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
    return reason
