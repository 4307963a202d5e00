"""Classes of create-time refusals that cfn-lint found, moved forward into the offline engine (each rule's
source is cited next to it in offline/aws/network.py)."""

from __future__ import annotations

import pytest

from offline.cloud import Ctx, EmulationError, emulate, lookup

pytestmark = pytest.mark.unit

SG_TYPES = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)


def _emulate(type_: str, **inputs: object) -> dict[str, object]:
    if "Rule" in type_:  # a rule needs exactly one source and its ports (the engine checks those too)
        inputs = {"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **inputs}
    ctx = Ctx(
        type=type_, name="x", urn=f"urn:pulumi:dev::p::{type_}::x", inputs=dict(inputs), region="us-east-1"
    )
    return dict(emulate(ctx, lookup(type_))[1])


@pytest.mark.parametrize("type_", SG_TYPES)
def test_ec2_refuses_an_apostrophe_in_a_security_group_description(type_: str) -> None:
    # E3031 on the prod plan: "ElastiCache nodes: Redis protocol from the cluster's workloads only".
    with pytest.raises(EmulationError, match=r"refused by EC2.*refused: '"):
        _emulate(type_, description="from the cluster's workloads")


@pytest.mark.parametrize("type_", SG_TYPES)
def test_ec2_takes_its_documented_charset_up_to_255_characters(type_: str) -> None:
    _emulate(type_, description="Shard a-1: 5432/tcp from [pods] {x} & y; #1 @z (ok) + = ! $ * , . _")
    with pytest.raises(EmulationError, match="refused by EC2"):
        _emulate(type_, description="x" * 256)
    with pytest.raises(EmulationError, match=r"refused: é"):
        _emulate(type_, description="café")


def test_a_security_group_name_is_held_to_the_same_charset() -> None:
    with pytest.raises(EmulationError, match="name 'db\"s'"):
        _emulate("aws:ec2/securityGroup:SecurityGroup", name='db"s')
    assert _emulate("aws:ec2/securityGroup:SecurityGroup")["description"] == "Managed by Pulumi"
