"""The offline engine's cluster rules (issue 14, items 7 and 9): the emulated AWS refuses what AWS refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline import invokes
from offline.cloud import Ctx, EmulationError, emulate, lookup

pytestmark = pytest.mark.unit


def _addon(name: str, configuration: object) -> Ctx:
    urn = f"urn:pulumi:dev::p::aws:eks/addon:Addon::{name}"
    inputs = {"clusterName": "c", "addonName": name, "configurationValues": configuration}
    return Ctx(type="aws:eks/addon:Addon", name=name, urn=urn, inputs=inputs, region="us-east-1")


def test_vpc_cni_network_policy_flag_is_a_string() -> None:
    emulation = lookup("aws:eks/addon:Addon")
    emulate(_addon("vpc-cni", json.dumps({"enableNetworkPolicy": "true"})), emulation)
    with pytest.raises(EmulationError, match='takes the string "true" or "false"'):
        emulate(_addon("vpc-cni", json.dumps({"enableNetworkPolicy": True})), emulation)


@pytest.mark.parametrize("configuration", ["enableNetworkPolicy=true", json.dumps(["a"])])
def test_addon_configuration_must_be_one_json_object(configuration: str) -> None:
    with pytest.raises(EmulationError, match="InvalidParameterException"):
        emulate(_addon("coredns", configuration), lookup("aws:eks/addon:Addon"))


# --- zones: what getAvailabilityZones answers, and what EKS refuses ----------------------------------------

ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"


def test_an_opted_in_local_zone_is_listed_unless_zone_type_is_filtered() -> None:
    everything = invokes.answer(ZONES, {"state": "available"}, "us-east-1")
    assert "use1-bos1-az1" in everything["zoneIds"]  # as AWS lists it once the account opted in
    assert "us-east-1-bos-1" in everything["groupNames"]
    azs_only = invokes.answer(
        ZONES, {"filters": [{"name": "zone-type", "values": ["availability-zone"]}]}, "us-east-1"
    )
    assert "use1-bos1-az1" not in azs_only["zoneIds"]
    assert azs_only["groupNames"] == ["us-east-1"]
    # Names map to ids per account: us-east-1a is not use1-az1 here.
    name_of = dict(zip(azs_only["zoneIds"], azs_only["names"], strict=True))
    assert name_of["use1-az1"] != "us-east-1a"
    assert (
        invokes.answer(ZONES, {"excludeZoneIds": ["use1-az3"]}, "us-east-1")["zoneIds"].count("use1-az3") == 0
    )


def test_an_unknown_zone_filter_is_refused() -> None:
    with pytest.raises(EmulationError, match="'zone-kind' is not emulated"):
        invokes.answer(ZONES, {"filters": [{"name": "zone-kind", "values": ["x"]}]}, "us-east-1")


def _subnet(zone_id: str) -> tuple[str, dict[str, Any]]:
    urn = f"urn:pulumi:dev::p::aws:ec2/subnet:Subnet::s-{zone_id}"
    ctx = Ctx(
        type="aws:ec2/subnet:Subnet",
        name=f"s-{zone_id}",
        urn=urn,
        inputs={"availabilityZoneId": zone_id, "cidrBlock": "10.0.0.0/24"},
        region="us-east-1",
    )
    physical_id, state = emulate(ctx, lookup("aws:ec2/subnet:Subnet"))
    return physical_id, dict(state)


def _with_subnets(type_: str, inputs: dict[str, Any], *zone_ids: str) -> Ctx:
    subnets = dict(_subnet(zone) for zone in zone_ids)
    return Ctx(
        type=type_,
        name="x",
        urn=f"urn:pulumi:dev::p::{type_}::x",
        inputs=inputs(list(subnets)) if callable(inputs) else inputs,
        region="us-east-1",
        peer=subnets.get,
    )


def _cluster(*zone_ids: str) -> Ctx:
    return _with_subnets(
        "aws:eks/cluster:Cluster",
        lambda ids: {"name": "c", "roleArn": "r", "vpcConfig": {"subnetIds": ids}},  # type: ignore[arg-type]
        *zone_ids,
    )


def test_subnets_get_the_zone_name_of_their_zone_id() -> None:
    _, state = _subnet("use1-az1")
    answer = invokes.answer(ZONES, {}, "us-east-1")
    assert state["availabilityZone"] == dict(zip(answer["zoneIds"], answer["names"], strict=True))["use1-az1"]
    with pytest.raises(EmulationError, match="does not exist in us-east-1"):
        _subnet("use1-az9")


def test_eks_refuses_control_plane_subnets_in_use1_az3_and_in_local_zones() -> None:
    emulation = lookup("aws:eks/cluster:Cluster")
    emulate(_cluster("use1-az1", "use1-az2"), emulation)
    with pytest.raises(EmulationError, match="UnsupportedAvailabilityZoneException: subnets in use1-az3"):
        emulate(_cluster("use1-az1", "use1-az3"), emulation)
    with pytest.raises(
        EmulationError, match="UnsupportedAvailabilityZoneException: subnets in use1-bos1-az1"
    ):
        emulate(_cluster("use1-bos1-az1", "use1-az1"), emulation)
    with pytest.raises(EmulationError, match="at least two Availability Zones"):
        emulate(_cluster("use1-az1"), emulation)


def test_managed_node_groups_refuse_local_zones() -> None:
    emulation = lookup("aws:eks/nodeGroup:NodeGroup")

    def group(ids: list[str]) -> dict[str, Any]:
        return {"clusterName": "c", "nodeGroupName": "g", "subnetIds": ids}

    emulate(_with_subnets("aws:eks/nodeGroup:NodeGroup", group, "use1-az3"), emulation)  # nodes may run there
    with pytest.raises(EmulationError, match="cannot run in Local Zones"):
        emulate(_with_subnets("aws:eks/nodeGroup:NodeGroup", group, "use1-bos1-az1"), emulation)
