"""The offline engine's cluster rules (issue 14, items 7 and 9): the emulated AWS refuses what AWS refuses."""

from __future__ import annotations

import json

import pytest

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
