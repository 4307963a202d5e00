"""Checks that need the whole validated config (capacity budgets, pod fit, prod safeguards).

Each check takes the StackConfig and returns problem lines (``nexus:<key path>: <what is wrong and which knob
to turn>``); an empty list means the check passed. The loader runs them all and fails on any problem, so a
plan that cannot work never registers a resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stacks.capacity import capacity_problems, shard_name_problems, stack_name_problems
from stacks.config.alb import alb_problems
from stacks.config.aws_values import log_retention_problems, tag_problems
from stacks.config.cache import prod_cache_problems
from stacks.config.catalog_checks import catalog_problems
from stacks.config.cluster import api_reachability_problems, cluster_prod_problems, node_capacity_problems
from stacks.config.hardening import hardening_problems
from stacks.config.images import prod_image_problems
from stacks.config.network import zone_region_problems
from stacks.config.storage import prod_storage_problems

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


def _prod_multi_az(config: StackConfig) -> list[str]:
    # A single-AZ primary loses writes for the length of an AZ outage; prod pays for the standby.
    if not config.is_prod:
        return []
    return [
        f"nexus:shards.{shard.id}.multiAz: prod primaries run Multi-AZ; "
        "set it to true (or in nexus:shardDefaults)"
        for shard in config.shards.values()
        if not shard.settings.multi_az
    ]


def _prod_image(config: StackConfig) -> list[str]:
    return prod_image_problems(config.api.image, is_prod=config.is_prod)


CROSS_CHECKS: list[Check] = [
    stack_name_problems,
    log_retention_problems,
    tag_problems,
    _prod_backups,
    _prod_multi_az,
    capacity_problems,
    shard_name_problems,
    prod_cache_problems,
    prod_storage_problems,
    node_capacity_problems,
    cluster_prod_problems,
    api_reachability_problems,
    alb_problems,
    zone_region_problems,
    _prod_image,
    catalog_problems,
    hardening_problems,
]
