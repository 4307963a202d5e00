"""Pure subnet maths: carve a VPC CIDR into public, private (app) and isolated (database) subnets.

The private tier gets half of the VPC because the VPC CNI gives every pod an address from it; the public and
isolated tiers get a quarter each. Each tier is split into 8 equal slots whatever the AZ count (MAX_AZS is 6),
and the subnet of AZ index i takes slot i, so adding an AZ later never moves an existing subnet.

Sizes, for a VPC of prefix /p: private subnets /(p+4), public and isolated /(p+5). A /16 gives /20 private
subnets (4,096 addresses, pods included) and /21 public and isolated ones; a /23, the smallest VPC accepted,
gives /27 and /28, AWS's minimum.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

Tier = Literal["public", "private", "isolated"]
TIERS: tuple[Tier, ...] = ("public", "private", "isolated")

# AWS allows VPCs and subnets from /16 to /28.
LARGEST_VPC_PREFIX = 16
SMALLEST_SUBNET_PREFIX = 28
MAX_AZS = 6
_SLOTS = 8  # fixed so that growing azCount from 2 to 6 keeps every existing subnet's CIDR


@dataclass(frozen=True, slots=True)
class SubnetPlan:
    """One planned subnet."""

    tier: Tier
    az_index: int
    cidr: str


class SubnetLayoutError(ValueError):
    """The VPC CIDR cannot hold the requested layout."""


def parse_vpc_cidr(cidr: str) -> ipaddress.IPv4Network:
    """Parse a VPC CIDR strictly: an IPv4 network from /16 to /28 (AWS's VPC limits), no host bits set."""
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as exc:
        if "host bits" in str(exc):
            meant = ipaddress.IPv4Network(cidr, strict=False)
            raise SubnetLayoutError(f"{cidr!r} has host bits set; did you mean {meant}?") from exc
        raise SubnetLayoutError(
            f"{cidr!r} is not an IPv4 network in CIDR form such as 10.0.0.0/16 ({exc})"
        ) from exc
    if not LARGEST_VPC_PREFIX <= network.prefixlen <= SMALLEST_SUBNET_PREFIX:
        raise SubnetLayoutError(
            f"{cidr!r} has prefix /{network.prefixlen}; AWS allows VPC CIDRs from /{LARGEST_VPC_PREFIX} "
            f"to /{SMALLEST_SUBNET_PREFIX} (this layout needs /{smallest_vpc_prefix()} or larger)"
        )
    return network


def tier_prefix(vpc_prefix: int, tier: Tier) -> int:
    """Prefix length of one subnet of a tier in a VPC of the given prefix length."""
    tier_share_bits = 1 if tier == "private" else 2  # private: 1/2 of the VPC, others 1/4
    return vpc_prefix + tier_share_bits + (_SLOTS - 1).bit_length()


def smallest_vpc_prefix() -> int:
    """The longest VPC prefix whose smallest subnets are still AWS's minimum /28 (``/23`` today)."""
    return SMALLEST_SUBNET_PREFIX - max(tier_prefix(0, tier) for tier in TIERS)


def plan_subnets(cidr: str, az_count: int) -> list[SubnetPlan]:
    """Plan every subnet for ``az_count`` AZs; raises SubnetLayoutError when the VPC is too small."""
    if not 1 <= az_count <= MAX_AZS:
        raise SubnetLayoutError(f"azCount {az_count} is out of range; it must be 1 to {MAX_AZS}")
    vpc = parse_vpc_cidr(cidr)
    smallest = max(tier_prefix(vpc.prefixlen, tier) for tier in TIERS)
    if smallest > SMALLEST_SUBNET_PREFIX:
        raise SubnetLayoutError(
            f"{cidr} is too small: its subnets would be /{smallest}, below AWS's minimum "
            f"/{SMALLEST_SUBNET_PREFIX}; use a VPC from /{LARGEST_VPC_PREFIX} to /{smallest_vpc_prefix()}"
        )
    private_half, rest = vpc.subnets(prefixlen_diff=1)
    public_quarter, isolated_quarter = rest.subnets(prefixlen_diff=1)
    blocks: dict[Tier, ipaddress.IPv4Network] = {
        "public": public_quarter,
        "private": private_half,
        "isolated": isolated_quarter,
    }
    plans: list[SubnetPlan] = []
    for tier in TIERS:
        slots = list(blocks[tier].subnets(new_prefix=tier_prefix(vpc.prefixlen, tier)))
        plans.extend(SubnetPlan(tier=tier, az_index=i, cidr=str(slots[i])) for i in range(az_count))
    return plans
