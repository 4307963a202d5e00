"""Availability zones (issue 14 item 7): real AZs only, by zone id, never one EKS refuses; zoneIds.

The emulated account (offline/zones.py) has an opted-in Local Zone in us-east-1 and us-west-2 and maps zone
names to ids as a real account does (not letter by letter): picking by sorted name, without the zone-type
filter, picks the Local Zone, and EKS refuses the cluster (tests/offline/test_offline_cluster_rules.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import StackRun, config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra

SUBNET = "aws:ec2/subnet:Subnet"


def dev_config(**network: Any) -> dict[str, Any]:
    config = stack_config("dev")
    config["nexus:network"] = {**config["nexus:network"], **network}
    return config


def zones_by_index(run: StackRun, tier: str) -> list[str]:
    subnets = sorted(
        (s for s in run.by_type(SUBNET) if f"-{tier}-" in s.name), key=lambda s: int(s.name.rsplit("-", 1)[1])
    )
    return [s.inputs["availabilityZoneId"] for s in subnets]


def test_default_zones_skip_local_zones_and_use1_az3(prod_run: StackRun) -> None:
    # prod: us-east-1, three AZs. Sorted usable ids: use1-az1, use1-az2, then use1-az4 (az3 is EKS-refused).
    for tier in ("public", "private", "isolated"):
        assert zones_by_index(prod_run, tier) == ["use1-az1", "use1-az2", "use1-az4"]
    assert all("bos" not in zone for zone in zones_by_index(prod_run, "private"))


def test_zone_ids_place_each_az_index_and_keep_every_urn(dev_run: StackRun) -> None:
    run = run_stack(dev_config(zoneIds=["use1-az6", "use1-az4"]), stack="dev")
    assert run.error is None, run.error
    assert zones_by_index(run, "private") == ["use1-az6", "use1-az4"]
    # Index-keyed names: choosing other zones is an input diff on the same URNs, never a rename.
    assert sorted(s.urn for s in run.by_type(SUBNET)) == sorted(s.urn for s in dev_run.by_type(SUBNET))


@pytest.mark.parametrize(
    ("zone_ids", "expected"),
    [
        (
            ["use1-az1", "use1-az3"],
            "nexus:network.zoneIds: use1-az3: EKS cannot place the cluster's control-plane",
        ),
        (["use1-bos1-az1", "use1-az1"], "nexus:network.zoneIds.0: String should match pattern"),
        (["use1-az1"], "nexus:network.zoneIds: 1 zone ids for azCount 2; list exactly azCount ids"),
        (["use1-az1", "use1-az1"], "nexus:network.zoneIds: zone ids repeat"),
        (["usw2-az1", "usw2-az2"], "nexus:network.zoneIds: usw2-az1, usw2-az2 are not zones of us-east-1"),
    ],
)
def test_bad_zone_ids_are_refused_before_anything_is_registered(zone_ids: list[str], expected: str) -> None:
    problems = config_problems(dev_config(zoneIds=zone_ids), stack="dev")
    assert any(line.startswith(expected) for line in problems), problems


def test_a_zone_the_account_does_not_offer_stops_the_run() -> None:
    run = run_stack(dev_config(zoneIds=["use1-az1", "use1-az9"]), stack="dev")
    assert run.error is not None
    assert run.error.startswith("nexus:network.zoneIds: zone ids use1-az9 are not usable Availability Zones")
    assert all(s.inputs.get("availabilityZoneId") is None for s in run.by_type(SUBNET))
