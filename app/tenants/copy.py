"""Copying and checking one tenant's rows between two shards, table by table, as the schema's owner.

A tenant table is a table of the schema with a `tenant_id` column (as app.migrate grants them); they are
copied parents first (foreign keys), cleared children first. Every table has FORCE ROW LEVEL SECURITY, which
binds the owner too, so every transaction sets `app.tenant_id` and sees, writes and deletes that tenant's rows
only. PostgreSQL refuses COPY FROM into a table with row-level security (PostgreSQL 15: "COPY FROM not
supported with row-level security", hint "Use INSERT statements instead"), so rows arrive by binary COPY into
a temporary table and one INSERT ... SELECT from it, which the policy checks: ids, timestamps and versions are
kept as they are.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.core.tenantmap import TENANT_ID_RE

TABLES_SQL = """
SELECT c.relname FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
REFERENCES_SQL = """
SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND c.conrelid <> c.confrelid
"""
COLUMNS_SQL = """
SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]

    @property
    def column_list(self) -> str:
        return ", ".join(f'"{c}"' for c in self.columns)


@dataclass(frozen=True)
class Fingerprint:
    """Row count and an order-independent checksum (the sum of a 64-bit hash of every row's text)."""

    rows: int
    checksum: str


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int
    seconds: float


@contextmanager
def tenant_cursor(engine: Engine, tenant: str, *, readonly: bool = False) -> Iterator[Any]:
    """A psycopg2 cursor in one transaction with the tenant set (committed on success)."""
    if not TENANT_ID_RE.fullmatch(tenant):
        raise ValueError(f"not a tenant id: {tenant!r}")
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if readonly:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cur.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        # Row text (the checksum's input) must not depend on the session: timestamps in UTC.
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        yield cur
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def tenant_tables(engine: Engine) -> list[Table]:
    """The schema's tenant tables, parents before children."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(TABLES_SQL)
        names = [r[0] for r in cur.fetchall()]
        cur.execute(REFERENCES_SQL)
        parents: dict[str, set[str]] = {n: set() for n in names}
        for child, parent in cur.fetchall():
            if child in parents and parent in parents:
                parents[child].add(parent)
        ordered: list[str] = []
        while len(ordered) < len(names):
            ready = sorted(n for n in names if n not in ordered and parents[n] <= set(ordered))
            if not ready:
                raise RuntimeError(f"foreign keys form a cycle among {sorted(set(names) - set(ordered))}")
            ordered += ready
        tables = []
        for name in ordered:
            cur.execute(COLUMNS_SQL, (name,))
            tables.append(Table(name, tuple(r[0] for r in cur.fetchall())))
        raw.rollback()
        return tables
    finally:
        raw.close()


def clear(engine: Engine, tenant: str, tables: list[Table]) -> int:
    """Delete the tenant's rows, children first, one transaction per table; the number deleted."""
    deleted = 0
    for table in reversed(tables):
        with tenant_cursor(engine, tenant) as cur:
            cur.execute(f'DELETE FROM "{table.name}" WHERE tenant_id = %s', (tenant,))  # noqa: S608
            deleted += cur.rowcount
    return deleted


def copy_table(source: Engine, target: Engine, tenant: str, table: Table) -> Copied:
    """The tenant's rows of one table from source to target (one transaction on each side), streamed: a
    thread writes the source's COPY TO into a pipe that the target's COPY FROM reads, so no table of any size
    is held in memory or in the pod's small /tmp."""
    began = time.monotonic()
    cols = table.column_list
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            with tenant_cursor(source, tenant, readonly=True) as cur:
                select = cur.mogrify(
                    f'SELECT {cols} FROM "{table.name}" WHERE tenant_id = %s',  # noqa: S608
                    (tenant,),
                ).decode()
                cur.copy_expert(f"COPY ({select}) TO STDOUT WITH (FORMAT binary)", writer)
        except BaseException as exc:  # handed to the consumer, which must not commit a partial copy
            failed.append(exc)
        finally:
            writer.close()

    producer = threading.Thread(target=produce, name=f"copy-{table.name}", daemon=True)
    producer.start()
    try:
        with tenant_cursor(target, tenant) as cur:
            cur.execute(f'CREATE TEMP TABLE nexus_move_rows (LIKE "{table.name}") ON COMMIT DROP')
            cur.copy_expert(f"COPY nexus_move_rows ({cols}) FROM STDIN WITH (FORMAT binary)", reader)
            producer.join()
            if failed:
                raise RuntimeError(f"reading {table.name} from the source failed: {failed[0]!r}") from failed[
                    0
                ]
            cur.execute(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM nexus_move_rows')  # noqa: S608
            rows = cur.rowcount
    finally:
        reader.close()  # a producer still writing gets a broken pipe and ends
        producer.join()
    return Copied(table.name, rows, time.monotonic() - began)


def fingerprint(engine: Engine, tenant: str, table: Table) -> Fingerprint:
    row = f"ROW({table.column_list})::text"
    with tenant_cursor(engine, tenant, readonly=True) as cur:
        cur.execute(
            f"SELECT count(*), coalesce(sum(('x' || substr(md5({row}), 1, 16))::bit(64)::bigint), 0)::text"  # noqa: S608
            f' FROM "{table.name}" WHERE tenant_id = %s',
            (tenant,),
        )
        count, checksum = cur.fetchone()
    return Fingerprint(int(count), str(checksum))
