"""Connection pools per shard and role, and tenant-scoped transactions.

The writer pool talks to the pooler (RDS Proxy in AWS, PgBouncer locally). PgBouncer 1.18 in transaction mode
does not keep protocol-level prepared statements across transactions, so asyncpg's statement cache is off.
Reader pools talk to the replicas directly; a replica that fails to connect is skipped for a while and reads
fall back to the writer when no replica is healthy.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl as ssl_lib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg

from app.core.errors import DependencyUnavailableError
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
)


def _ssl_context(mode: str) -> ssl_lib.SSLContext | bool:
    if mode == "disable":
        return False
    # RDS and RDS Proxy certificates chain to the Amazon roots shipped in the system bundle.
    return ssl_lib.create_default_context()


@dataclass
class PoolHandle:
    """One asyncpg pool with a name for metrics and error messages."""

    name: str
    role: str
    endpoint: Endpoint
    pool: asyncpg.Pool
    down_until: float = 0.0

    def healthy(self, now: float) -> bool:
        return now >= self.down_until


@dataclass
class ShardPools:
    shard_id: str
    writer: PoolHandle
    readers: list[PoolHandle]
    settings: DatabaseSettings
    _rr: itertools.count[int] = field(default_factory=itertools.count)

    def pick_reader(self) -> PoolHandle:
        """Round-robin over healthy replicas; the writer when none is healthy."""
        now = time.monotonic()
        healthy = [r for r in self.readers if r.healthy(now)]
        if not healthy:
            return self.writer
        return healthy[next(self._rr) % len(healthy)]

    def mark_down(self, handle: PoolHandle) -> None:
        if handle is not self.writer:
            handle.down_until = time.monotonic() + self.settings.replica_retry_seconds
            log.warning("replica marked unhealthy", extra={"shard": self.shard_id, "pool": handle.name})

    async def close(self) -> None:
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
    pool = asyncpg.create_pool(
        host=endpoint.host,
        port=endpoint.port,
        database=database,
        user=shard.username,
        password=password,
        # min_size=0: the process starts even when a database is down; /readyz reports it.
        min_size=0,
        max_size=settings.pool_max,
        statement_cache_size=0,
        timeout=settings.connect_timeout_seconds,
        command_timeout=settings.command_timeout_seconds,
        ssl=_ssl_context(settings.ssl),
        max_inactive_connection_lifetime=60.0,
        reset=_no_session_state,
        server_settings={"application_name": f"nexus-{role}"},
    )
    name = f"{shard_id}.{role}" if role == "writer" else f"{shard_id}.reader{index}"
    return PoolHandle(name=name, role=role, endpoint=endpoint, pool=pool)


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
    handle, conn = await _acquire(shards, shards.writer if role == "writer" else shards.pick_reader())
    try:
        async with _transaction(conn, tenant, readonly=role != "writer"):
            yield conn
    except DependencyUnavailableError:
        raise
    except Exception as exc:
        # A server that goes away mid-transaction surfaces as a connection error, or (when the ROLLBACK
        # on the way out hits the dead connection) as an asyncpg state error on a closed connection.
        if not isinstance(exc, CONNECTION_ERRORS) and not conn.is_closed():
            raise
        shards.mark_down(handle)
        raise DependencyUnavailableError(f"database {handle.name}") from exc
    finally:
        await _release(handle, conn)


def begin_sql(tenant: str, *, readonly: bool) -> str:
    """BEGIN and the tenant setting as one simple-protocol message: one round trip where asyncpg's
    transaction() and a parameterised set_config take three (BEGIN, prepare, execute). That message carries
    no parameters, so the tenant is a literal; it comes from a verified token and the tenant map, and must
    match the tenant id pattern (lowercase letters, digits, '-'), so it cannot hold a quote."""
    if not TENANT_ID_RE.fullmatch(tenant):
        raise ValueError(f"not a tenant id: {tenant!r}")
    mode = " READ ONLY" if readonly else ""
    return f"BEGIN{mode}; SELECT set_config('app.tenant_id', '{tenant}', true)"


@asynccontextmanager
async def _transaction(conn: asyncpg.Connection, tenant: str, *, readonly: bool) -> AsyncIterator[None]:
    """What conn.transaction() does (commit on success, roll back on any exception), tenant included."""
    await conn.execute(begin_sql(tenant, readonly=readonly))
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def _release(handle: PoolHandle, conn: asyncpg.Connection) -> None:
    try:
        await handle.pool.release(conn)
    except Exception as exc:
        # asyncpg has already terminated a connection it could not reset (its server went away); the pool
        # opens a new one on the next acquire. The request's outcome is decided: do not turn it into a 500.
        log.warning("connection dropped on release", extra={"pool": handle.name, "error": type(exc).__name__})


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
        if exc.dependency == f"database {shards.writer.name}":
            raise
        async with tenant_tx(shards, tenant, role="reader") as conn:
            return await query(conn)


async def _acquire(shards: ShardPools, handle: PoolHandle) -> tuple[PoolHandle, asyncpg.Connection]:
    try:
        return handle, await handle.pool.acquire(timeout=shards.settings.acquire_timeout_seconds)
    except CONNECTION_ERRORS as exc:
        shards.mark_down(handle)
        if handle is not shards.writer:
            # A replica failed: retry once on whatever is healthy now (another replica or the writer).
            fallback = shards.pick_reader()
            if fallback is not handle:
                return await _acquire(shards, fallback)
        raise DependencyUnavailableError(f"database {handle.name}") from exc


async def probe(handle: PoolHandle, limit_seconds: float) -> str | None:
    """None when `SELECT 1` answers within `limit_seconds`, else a short reason."""
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
