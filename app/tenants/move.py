"""`python -m app.tenants move TENANT --to SHARD`: move one tenant's rows to another shard, online.

Steps (docs/shards.md): freeze (source `moving_out`: reads go on, writes get 503 tenant_moving), prepare
(target `moving_in`), copy (every tenant table), verify (row count and checksum per table; a mismatch
clears the target and unfreezes the source), switch (target `active`, routing override in Redis, source
`retired`, the tenant's cache entries dropped), finish (the config edit to commit). `--cleanup` deletes the
retired rows later.

Every step is decided from the shards' registries, never from memory, so a move killed anywhere and run
again picks up where it stopped: a `moving_out` source is copied again from scratch (the target is cleared
first), an `active` target means the switch happened and only its remaining writes are redone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import redis
from sqlalchemy import Connection, Engine, create_engine, text

from app.core.settings import Settings
from app.core.tenantroute import ROUTES_KEY
from app.migrate import shard_url
from app.tenants import registry
from app.tenants.copy import Copied, Fingerprint, Table, clear, copy_table, fingerprint, tenant_tables

DEFAULT_OVERRIDE_TTL_SECONDS = 14 * 24 * 3600
"""The routing override outlives the deploy that commits the config edit (docs/shards.md)."""
DEFAULT_GRACE_SECONDS = 24 * 3600
CACHE_PATTERN = "nexus:doc:{tenant}:*"
"""The document cache's keys of a tenant (app.documents.service.cache_key)."""


class MoveError(RuntimeError):
    """The move cannot go on; the message says why and what to do (exit 1)."""


class MoveAbortedError(MoveError):
    """Verification failed: the target was cleared and the source unfrozen (exit 2)."""


@dataclass
class MoveResult:
    tenant: str
    source: str
    target: str
    copied: list[Copied] = field(default_factory=list)
    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    freeze_seconds: float | None = None
    """From the freeze's commit to the routing override (writes refused meanwhile); None when resumed."""
    copy_seconds: float = 0.0
    routed_at: float | None = None
    """time.monotonic() when the routing override was published (writes go to the target from then on)."""

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.copied)


Checkpoint = Callable[[str], None]


def _no_checkpoint(_: str) -> None:
    pass


class Mover:
    """Moves run as the schema owner (the migrations' login) against every shard's writer."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis_client: redis.Redis | None = None,
        say: Callable[[str], None] = print,
        checkpoint: Checkpoint = _no_checkpoint,
    ) -> None:
        self.settings = settings
        self.redis = redis_client or redis.Redis.from_url(
            settings.redis.url, socket_timeout=5, socket_connect_timeout=5
        )
        self.say = say
        self.checkpoint = checkpoint
        self._engines: dict[str, Engine] = {}

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def engine(self, shard_id: str) -> Engine:
        if shard_id not in self.settings.tenant_map.shards:
            known = ", ".join(sorted(self.settings.tenant_map.shards))
            raise MoveError(f"unknown shard {shard_id!r} (the tenant map has {known})")
        if shard_id not in self._engines:
            # A connection or two per shard, kept for the whole move: each step would otherwise pay a new TLS
            # connection through the pooler, inside the freeze.
            self._engines[shard_id] = create_engine(
                shard_url(self.settings, shard_id), pool_size=1, max_overflow=1, pool_pre_ping=True
            )
        return self._engines[shard_id]

    @contextmanager
    def _conn(self, shard_id: str) -> Iterator[Connection]:
        with self.engine(shard_id).connect() as conn:
            yield conn

    # ---------------------------------------------------------------- registries

    def where(self, tenant: str) -> dict[str, registry.Entry]:
        """The tenant's entry on every shard that has one (every shard must answer)."""
        found = {}
        for shard_id in self.settings.tenant_map.shards:
            with self._conn(shard_id) as conn:
                entry = registry.read(conn, tenant)
                conn.rollback()
            if entry is not None:
                found[shard_id] = entry
        return found

    def _set(self, shard_id: str, tenant: str, state: str, peer: str | None) -> None:
        with self._conn(shard_id) as conn:
            registry.set_state(conn, tenant, state, peer)

    # ---------------------------------------------------------------- the move

    def move(
        self, tenant: str, target: str, *, override_ttl: int = DEFAULT_OVERRIDE_TTL_SECONDS
    ) -> MoveResult:
        self.engine(target)
        entries = self.where(tenant)
        target_entry = entries.get(target)
        others = {s: e for s, e in entries.items() if s != target and e.state in ("active", "moving_out")}
        if target_entry is not None and target_entry.state == "active":
            if any(e.state == "active" for e in others.values()):
                raise MoveError(f"tenant {tenant} is active on {target} and on {sorted(others)}: fix by hand")
            source = next(iter(others), target_entry.peer_shard or target)
            self.say(f"tenant {tenant} is already active on {target}: finishing the switch")
            result = MoveResult(tenant, source, target)
            self._finish_switch(result, override_ttl)
            return result
        if len(others) != 1:
            where = ", ".join(f"{s}: {e.state}" for s, e in sorted(entries.items())) or "no shard"
            raise MoveError(f"tenant {tenant} has no single source shard to move from ({where})")
        source, entry = next(iter(others.items()))
        result = MoveResult(tenant, source, target)
        self.say(f"moving tenant {tenant}: {source} -> {target}")
        frozen_at = None
        if entry.state == "active":
            self._set(source, tenant, "moving_out", target)
            frozen_at = time.monotonic()
            self.say(
                f"  freeze: {tenant} is moving_out on {source} (reads go on, writes get 503 tenant_moving)"
            )
        else:
            self.say(f"  resume: {tenant} is already moving_out on {source}")
        self.checkpoint("frozen")
        self._set(target, tenant, "moving_in", source)
        self.checkpoint("prepared")
        tables = tenant_tables(self.engine(source))
        self._copy(result, tables)
        self._verify(result, tables)
        self.checkpoint("verified")
        self._set(target, tenant, "active", source)
        self.say(f"  switch: {tenant} is active on {target}")
        self.checkpoint("target-active")
        self._finish_switch(result, override_ttl)
        if frozen_at is not None and result.routed_at is not None:
            result.freeze_seconds = result.routed_at - frozen_at
            self.say(f"  writes were refused for {result.freeze_seconds:.2f}s ({result.rows} rows copied)")
        return result

    def _copy(self, result: MoveResult, tables: list[Table]) -> None:
        source, target = self.engine(result.source), self.engine(result.target)
        began = time.monotonic()
        cleared = clear(target, result.tenant, tables)
        if cleared:
            self.say(f"  cleared {cleared} rows of {result.tenant} left on {result.target} (earlier copy)")
        for table in tables:
            copied = copy_table(source, target, result.tenant, table)
            result.copied.append(copied)
            self.say(f"  copy: {table.name}: {copied.rows} rows in {copied.seconds:.2f}s")
            self.checkpoint(f"copied:{table.name}")
        result.copy_seconds = time.monotonic() - began

    def _verify(self, result: MoveResult, tables: list[Table]) -> None:
        bad = []
        for table in tables:
            there = fingerprint(self.engine(result.source), result.tenant, table)
            here = fingerprint(self.engine(result.target), result.tenant, table)
            result.fingerprints[table.name] = here
            if there != here:
                bad.append(
                    f"{table.name}: {there.rows}/{there.checksum} on source, {here.rows}/{here.checksum}"
                )
            else:
                self.say(f"  verify: {table.name}: {here.rows} rows, checksum {here.checksum}")
        if bad:
            self._abort(result, tables)
            raise MoveAbortedError(
                f"verification failed ({'; '.join(bad)}): the target was cleared and {result.tenant} is "
                f"active on {result.source} again; nothing changed for its users"
            )

    def _abort(self, result: MoveResult, tables: list[Table]) -> None:
        clear(self.engine(result.target), result.tenant, tables)
        with self._conn(result.target) as conn:
            registry.delete(conn, result.tenant)
        self._set(result.source, result.tenant, "active", None)

    def _finish_switch(self, result: MoveResult, override_ttl: int) -> None:
        self.publish_override(result.tenant, result.target, override_ttl)
        result.routed_at = time.monotonic()
        self.say(f"  switch: every API process routes {result.tenant} to {result.target} within a second")
        self.checkpoint("routed")
        if result.source != result.target:
            with self._conn(result.source) as conn:
                entry = registry.read(conn, result.tenant)
                conn.rollback()
            if entry is not None and entry.state != "retired":
                self._set(result.source, result.tenant, "retired", result.target)
                self.say(
                    f"  switch: {result.tenant} is retired on {result.source} (rows kept until --cleanup)"
                )
        self.checkpoint("retired")
        dropped = self.invalidate_cache(result.tenant)
        self.say(f"  cache: {dropped} entries of {result.tenant} dropped")
        self.say(
            "  S3: attachments and exports are keyed by tenant in the shared bucket; they do not move and "
            "stay readable"
        )

    def publish_override(self, tenant: str, shard_id: str, ttl: int) -> None:
        expires_at = time.time() + ttl
        value = json.dumps({"shard": shard_id, "expires_at": expires_at})
        try:
            pipe = self.redis.pipeline()
            pipe.hset(ROUTES_KEY, tenant, value)
            pipe.hgetall(ROUTES_KEY)
            _, entries = pipe.execute()
            latest = max(json.loads(v).get("expires_at", 0) for v in entries.values())
            self.redis.expireat(ROUTES_KEY, int(latest) + 1)
        except redis.RedisError as exc:
            raise MoveError(
                f"the routing override could not be published ({exc}); run the move again"
            ) from exc

    def invalidate_cache(self, tenant: str) -> int:
        dropped = 0
        try:
            batch: list[bytes] = []
            for key in self.redis.scan_iter(match=CACHE_PATTERN.format(tenant=tenant), count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    dropped += cast(int, self.redis.delete(*batch))
                    batch = []
            if batch:
                dropped += cast(int, self.redis.delete(*batch))
        except redis.RedisError as exc:
            self.say(f"  (cache not invalidated: {exc}; entries expire with their TTL)")
        return dropped

    # ---------------------------------------------------------------- cleanup and shard removal

    def cleanup(self, tenant: str, grace_seconds: int = DEFAULT_GRACE_SECONDS) -> int:
        """Delete the tenant's rows on every shard where it has been `retired` for `grace_seconds`."""
        deleted = 0
        for shard_id, entry in sorted(self.where(tenant).items()):
            if entry.state != "retired":
                continue
            with self._conn(shard_id) as conn:
                age = conn.execute(
                    text(
                        "SELECT extract(epoch FROM now() - changed_at) FROM shard_tenants WHERE tenant = :t"
                    ),
                    {"t": tenant},
                ).scalar_one()
                conn.rollback()
            if float(age) < grace_seconds:
                self.say(
                    f"{tenant} on {shard_id}: retired {float(age):.0f}s ago, kept ({grace_seconds}s grace)"
                )
                continue
            engine = self.engine(shard_id)
            rows = clear(engine, tenant, tenant_tables(engine))
            deleted += rows
            self.say(f"{tenant} on {shard_id}: {rows} retired rows deleted")
        return deleted

    def shard_tenants(self, shard_id: str) -> dict[str, tuple[registry.Entry, int]]:
        """Every tenant the shard records, with its state and how many rows it has there."""
        with self._conn(shard_id) as conn:
            found = registry.read_all(conn)
            conn.rollback()
        engine = self.engine(shard_id)
        tables = tenant_tables(engine)
        return {
            tenant: (entry, sum(fingerprint(engine, tenant, table).rows for table in tables))
            for tenant, entry in found.items()
        }


def blocks_removal(entry: registry.Entry, rows: int) -> bool:
    """A tenant that keeps its shard from being removed: one mid-move, or active with rows (an active tenant
    without a single row is the placeholder a tenant-less shard keeps in config, docs/shards.md)."""
    return entry.state in ("moving_out", "moving_in") or (entry.state == "active" and rows > 0)


def config_edit(settings: Settings, result: MoveResult, stack: str | None) -> list[str]:
    """The `pulumi config` commands that make the stack config say what the move did."""
    tmap = settings.tenant_map.tenants
    stack_flag = f" --stack {stack}" if stack else ""
    lines = []
    for shard_id in (result.source, result.target):
        names = sorted(t for t, s in tmap.items() if s == shard_id and t != result.tenant)
        if shard_id == result.target:
            names = sorted([*names, result.tenant])
        elif not names:
            # A shard needs a tenant in config: removing the shard is its own change (docs/shards.md).
            lines.append(f"pulumi config rm{stack_flag} --path 'nexus:shards.{shard_id}'")
            continue
        lines.append(f"pulumi config rm{stack_flag} --path 'nexus:shards.{shard_id}.tenants'")
        lines += [
            f"pulumi config set{stack_flag} --path 'nexus:shards.{shard_id}.tenants[{i}]' {name}"
            for i, name in enumerate(names)
        ]
    lines.append(
        f"pulumi config set{stack_flag} --path 'nexus:tenantMoves.{result.tenant}.from' {result.source}"
    )
    lines.append(
        f"pulumi config set{stack_flag} --path 'nexus:tenantMoves.{result.tenant}.to' {result.target}"
    )
    return lines
