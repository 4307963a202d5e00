"""``nexus:cache``: the Redis-protocol store (ElastiCache for Valkey) of the cache and the job queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, model_validator

from stacks.config.base import ConfigModel
from stacks.config.sections import field_error

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# Valkey engine version -> ElastiCache parameter group family. Pin major.minor only: ElastiCache applies
# patch releases itself, so a patch in the program would make later runs try to downgrade.
VALKEY_FAMILIES: Final[dict[str, str]] = {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8"}

ValkeyVersion = Literal["7.2", "8.0", "8.1"]

_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"

# Nodes of one replication group without cluster mode: a primary and up to five replicas.
MAX_NODES: Final = 6


class CacheConfig(ConfigModel):
    """``nexus:cache``: one ElastiCache for Valkey replication group (cluster mode off).

    The cache and the job queue share it, with ``maxmemory-policy noeviction`` (docs/cache-and-storage.md).
    """

    engine_version: ValkeyVersion = "8.0"
    """Valkey major.minor version (7.2, 8.0 or 8.1); the parameter group family follows from it."""
    node_type: str = Field(default="cache.t4g.small", pattern=r"^cache\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
    """ElastiCache node type, e.g. cache.t4g.small or cache.r7g.large."""
    num_nodes: int = Field(default=1, ge=1, le=MAX_NODES)
    """Nodes in the group: one primary plus replicas (1-6)."""
    automatic_failover: bool = False
    """Promote a replica when the primary fails (needs at least 2 nodes)."""
    multi_az: bool = False
    """Place the replicas in other AZs than the primary (needs automaticFailover)."""
    snapshot_retention_days: int = Field(default=0, ge=0, le=35)
    """Days of daily snapshots to keep (0 turns snapshots off)."""
    snapshot_window: str = Field(default="03:00-04:00", pattern=rf"^{_HHMM}-{_HHMM}$")
    """Daily UTC window in which the snapshot starts (hh:mm-hh:mm, at least 60 minutes)."""
    maintenance_window: str = Field(
        default="sun:05:00-sun:06:00",
        pattern=rf"^{_DAY}:{_HHMM}-{_DAY}:{_HHMM}$",
    )
    """Weekly UTC maintenance window (ddd:hh:mm-ddd:hh:mm); must not overlap the snapshot window."""
    auth_token_version: int = Field(default=1, ge=1)
    """Bump to generate a new AUTH token; ElastiCache then accepts the old and the new one (ROTATE)."""
    memory_alarm_percent: int = Field(default=80, ge=50, le=95)
    """Alarm when a node's DatabaseMemoryUsagePercentage exceeds this (writes fail at 100%: noeviction)."""

    @model_validator(mode="after")
    def _failover_needs_replicas(self) -> CacheConfig:
        if self.automatic_failover and self.num_nodes < 2:
            raise field_error(
                "automaticFailover",
                f"automaticFailover needs at least 2 nodes (a replica to promote); set numNodes to 2 or more "
                f"(got {self.num_nodes}) or turn automaticFailover off",
            )
        if self.multi_az and not self.automatic_failover:
            raise field_error("multiAz", "multiAz needs automaticFailover: true (ElastiCache requires both)")
        return self

    @model_validator(mode="after")
    def _windows(self) -> CacheConfig:
        snapshot = daily_window_minutes(self.snapshot_window)
        maintenance = weekly_window_minutes(self.maintenance_window)
        if len(maintenance) < 60:
            raise field_error("maintenanceWindow", "maintenanceWindow must last at least 60 minutes")
        if len(snapshot) // 7 < 60:
            raise field_error("snapshotWindow", "snapshotWindow must last at least 60 minutes")
        if snapshot & maintenance:
            raise field_error(
                "snapshotWindow",
                f"snapshotWindow {self.snapshot_window} overlaps maintenanceWindow "
                f"{self.maintenance_window}; move one of them (ElastiCache refuses overlapping windows)",
            )
        return self

    @property
    def parameter_group_family(self) -> str:
        """ElastiCache parameter group family of the engine version."""
        return VALKEY_FAMILIES[self.engine_version]

    @property
    def snapshots_enabled(self) -> bool:
        """Whether daily snapshots are taken."""
        return self.snapshot_retention_days > 0


_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK: Final = 7 * 24 * 60


def _minute_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _span(start: int, end: int, modulo: int) -> set[int]:
    """Minutes from start (inclusive) to end (exclusive), wrapping at ``modulo``."""
    length = (end - start) % modulo
    return {(start + offset) % modulo for offset in range(length)}


def weekly_window_minutes(window: str) -> set[int]:
    """Minutes of the week (0 = Monday 00:00 UTC) covered by ``ddd:hh:mm-ddd:hh:mm``."""
    start, end = window.split("-")
    start_day, start_time = start.split(":", 1)
    end_day, end_time = end.split(":", 1)
    begin = _DAYS.index(start_day) * 1440 + _minute_of_day(start_time)
    finish = _DAYS.index(end_day) * 1440 + _minute_of_day(end_time)
    return _span(begin, finish, _WEEK)


def daily_window_minutes(window: str) -> set[int]:
    """Minutes of the week covered by a daily ``hh:mm-hh:mm`` window (it recurs on all seven days)."""
    start, end = (_minute_of_day(part) for part in window.split("-"))
    return {day * 1440 + minute for day in range(7) for minute in _span(start, end, 1440)}


def prod_cache_problems(config: StackConfig) -> list[str]:
    """Prod keeps the queue available through a node or AZ failure and keeps snapshots to restore from."""
    if not config.is_prod:
        return []
    cache = config.cache
    problems: list[str] = []
    if not cache.automatic_failover or cache.num_nodes < 2:
        problems.append(
            "nexus:cache.automaticFailover: prod needs automatic failover with at least 2 nodes; set "
            f"automaticFailover: true and numNodes >= 2 (got {cache.automatic_failover}, {cache.num_nodes})"
        )
    if not cache.multi_az:
        problems.append("nexus:cache.multiAz: prod places replicas in other AZs; set multiAz: true")
    if not cache.snapshots_enabled:
        problems.append(
            "nexus:cache.snapshotRetentionDays: prod keeps daily snapshots; set at least 1 (got 0)"
        )
    return problems
