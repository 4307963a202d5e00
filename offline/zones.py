"""The zones of the emulated account, as EC2 DescribeAvailabilityZones would list them.

What is modelled, and why (each a property of AWS a program can get wrong):

- Zone *names* map to zone *ids* per account: ``us-east-1a`` is not ``use1-az1`` everywhere (AWS RAM user
  guide, "Availability Zone IDs for your AWS resources"). The table below uses a shuffled mapping, so a
  program that treats the letter as the id, or sorts by name and expects ids in order, is caught.
- An opted-in Local Zone is listed with the region's zones: "When Local Zones are enabled in a region, by
  default the API and this data source include both Local Zones and Availability Zones" (pulumi-aws
  ``get_availability_zones.py``). us-east-1 and us-west-2 have one opted in here (zone type ``local-zone``,
  group name ``<region>-<city>-1``), so a program that does not filter on ``zone-type`` picks it.
- us-east-1 lists ``use1-az3``, an AZ where EKS refuses control-plane subnets (UnsupportedAvailabilityZone
  Exception; EKS user guide, network-reqs.html, "Subnet requirements": use1-az3, usw1-az2, cac1-az3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone as DescribeAvailabilityZones describes it."""

    name: str
    zone_id: str
    zone_type: str = "availability-zone"
    group_name: str = ""
    opt_in_status: str = "opt-in-not-required"
    state: str = "available"


def _azs(region: str, short: str, letters_to_ids: dict[str, int]) -> list[Zone]:
    return [
        Zone(name=f"{region}{letter}", zone_id=f"{short}-az{number}", group_name=region)
        for letter, number in letters_to_ids.items()
    ]


_ZONES: Final[dict[str, list[Zone]]] = {
    "us-east-1": [
        *_azs("us-east-1", "use1", {"a": 4, "b": 6, "c": 1, "d": 2, "e": 3, "f": 5}),
        Zone(
            name="us-east-1-bos-1a",
            zone_id="use1-bos1-az1",
            zone_type="local-zone",
            group_name="us-east-1-bos-1",
            opt_in_status="opted-in",
        ),
    ],
    "us-west-2": [
        *_azs("us-west-2", "usw2", {"a": 2, "b": 1, "c": 3, "d": 4}),
        Zone(
            name="us-west-2-lax-1a",
            zone_id="usw2-lax1-az1",
            zone_type="local-zone",
            group_name="us-west-2-lax-1",
            opt_in_status="opted-in",
        ),
    ],
    "us-west-1": _azs("us-west-1", "usw1", {"a": 3, "c": 2}),
    "ca-central-1": _azs("ca-central-1", "cac1", {"a": 1, "b": 2, "d": 4}),
}

EKS_UNSUPPORTED_ZONE_IDS: Final = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zones where EKS refuses control-plane subnets (EKS user guide, network-reqs.html, subnet requirements)."""

_DIRECTIONS: Final = {
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
}


def region_short(region: str) -> str:
    """``us-east-1`` -> ``use1``, ``ap-southeast-2`` -> ``apse2``: the prefix of the region's zone ids."""
    parts = region.split("-")
    if len(parts) != 3 or parts[1] not in _DIRECTIONS:
        return region.replace("-", "")
    return f"{parts[0]}{_DIRECTIONS[parts[1]]}{parts[2]}"


def zones(region: str) -> list[Zone]:
    """Every zone of the region visible to the account (three zones a-c for a region without an entry)."""
    if region in _ZONES:
        return list(_ZONES[region])
    return _azs(region, region_short(region), {"a": 2, "b": 3, "c": 1})


def by_name(region: str, name: str) -> Zone | None:
    """The zone of that name, if the region has it."""
    return next((zone for zone in zones(region) if zone.name == name), None)


def by_id(region: str, zone_id: str) -> Zone | None:
    """The zone of that id, if the region has it."""
    return next((zone for zone in zones(region) if zone.zone_id == zone_id), None)
