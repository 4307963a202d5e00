"""Cross-checks of ``nexus:network`` that need the rest of the config (the region)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.eks.zones import zone_id_prefix

if TYPE_CHECKING:
    from stacks.config.model import StackConfig


def zone_region_problems(config: StackConfig) -> list[str]:
    """Cross-check: every listed zone id belongs to the stack's region (use1-az1 is us-east-1's)."""
    prefix = zone_id_prefix(config.region)
    zone_ids = config.network.zone_ids or []
    if prefix is None or not zone_ids:
        return []
    foreign = [zone for zone in zone_ids if zone.rsplit("-az", 1)[0] != prefix]
    if not foreign:
        return []
    return [
        f"nexus:network.zoneIds: {', '.join(foreign)} are not zones of {config.region} (its zone ids start "
        f"with {prefix}-az); list {config.region}'s ids (aws ec2 describe-availability-zones --region "
        f"{config.region} --filters Name=zone-type,Values=availability-zone)"
    ]
