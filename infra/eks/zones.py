"""Which availability zones an EKS cluster can use. Pure (no Pulumi import).

- Only real Availability Zones: a Local Zone (or Wavelength Zone) is listed with the region's zones once the
  account opts in (pulumi-aws ``get_availability_zones.py``: "by default the API and this data source include
  both Local Zones and Availability Zones"), and EKS refuses it for the cluster ("you must not specify Local
  Zone subnets when you create your cluster"; no managed node groups there either: EKS user guide,
  local-zones.html). So zones are asked for with the filter ``zone-type = availability-zone``.
- Not the AZs where EKS cannot place control-plane ENIs: use1-az3 (us-east-1), usw1-az2 (us-west-1) and
  cac1-az3 (ca-central-1); CreateCluster answers UnsupportedAvailabilityZoneException (EKS user guide,
  network-reqs.html, subnet requirements).
- By zone *id*, not name: names map to physical zones differently in every account (AWS RAM user guide,
  "Availability Zone IDs for your AWS resources"); ids are the same everywhere, so the choice (sorted ids, or
  the ids listed in ``nexus:network.zoneIds``) means the same zones in every account.
"""

from __future__ import annotations

import re
from typing import Final

EKS_UNSUPPORTED_ZONE_IDS: Final = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""AZ ids where EKS refuses control-plane subnets (EKS user guide, network-reqs.html, subnet requirements)."""

ZONE_TYPE_FILTER_NAME: Final = "zone-type"
ZONE_TYPE_FILTER_VALUES: Final = ("availability-zone",)
"""DescribeAvailabilityZones filter that keeps Local and Wavelength Zones out (EC2 API reference)."""

AZ_ID_PATTERN: Final = r"^[a-z]{2,}[0-9]+-az[0-9]+$"
"""An Availability Zone id such as use1-az4 or apse2-az1 (a Local Zone's, use1-bos1-az1, does not match)."""

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


def zone_id_prefix(region: str) -> str | None:
    """The prefix of the region's zone ids (``us-east-1`` -> ``use1``, ``ap-southeast-2`` -> ``apse2``).

    None for a region name of another shape."""
    match = re.fullmatch(r"([a-z]{2})-([a-z]+)-(\d+)", region)
    if match is None or match.group(2) not in _DIRECTIONS:
        return None
    return f"{match.group(1)}{_DIRECTIONS[match.group(2)]}{match.group(3)}"


def pick_zone_ids(available: list[str], count: int, wanted: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The zone ids to use, in AZ-index order: ``wanted`` as given, else the first ``count`` usable ids.

    ``available`` is what getAvailabilityZones returned (already filtered to Availability Zones). Raises
    ValueError naming what is missing.
    """
    usable = sorted(zone for zone in available if zone not in EKS_UNSUPPORTED_ZONE_IDS)
    if wanted:
        missing = [zone for zone in wanted if zone not in usable]
        if missing:
            raise ValueError(
                f"zone ids {', '.join(missing)} are not usable Availability Zones here (EKS-unsupported or "
                f"not offered to this account); usable: {', '.join(usable)}"
            )
        return list(wanted)
    if len(usable) < count:
        raise ValueError(
            f"{count} AZs requested but the region has {len(usable)} usable ({', '.join(usable)}); "
            "lower azCount"
        )
    return usable[:count]
