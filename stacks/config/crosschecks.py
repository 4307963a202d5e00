"""Checks that need the whole validated config (capacity budgets, pod fit, prod safeguards).

Each check takes the StackConfig and returns problem lines (``nexus:<key path>: <what is wrong and which knob
to turn>``); an empty list means the check passed. The loader runs them all and fails on any problem, so a
plan that cannot work never registers a resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

Check = Callable[["StackConfig"], list[str]]


def _prod_backups(config: StackConfig) -> list[str]:
    if not config.is_prod:
        return []
    return [
        f"nexus:shards.{shard.id}.backupRetentionDays: prod keeps at least 7 days of backups, "
        f"got {shard.settings.backup_retention_days}"
        for shard in config.shards.values()
        if shard.settings.backup_retention_days < 7
    ]


CROSS_CHECKS: list[Check] = [_prod_backups]
