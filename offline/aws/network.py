"""EC2 and VPC: VPCs, subnets (and the zones EC2 accepts), gateways, routes, security groups, rules."""

from __future__ import annotations

import re
from typing import Any

from .. import zones
from ..cloud import DNS_SUFFIX, Ctx, Emulation, register
from .common import NAME_OR_PREFIX, prefixed, simple_ec2


def _vpc(ctx: Ctx) -> dict[str, Any]:
    vpc_id = f"vpc-{ctx.hex(17, 'id')}"
    return {
        "arn": ctx.arn("ec2", f"vpc/{vpc_id}"),
        "ownerId": ctx.account,
        "defaultSecurityGroupId": f"sg-{ctx.hex(17, 'default-sg')}",
        "defaultNetworkAclId": f"acl-{ctx.hex(17, 'default-acl')}",
        "defaultRouteTableId": f"rtb-{ctx.hex(17, 'default-rtb')}",
        "mainRouteTableId": f"rtb-{ctx.hex(17, 'default-rtb')}",
        "dhcpOptionsId": f"dopt-{ctx.hex(17, 'dopt')}",
        "enableDnsSupport": ctx.get("enableDnsSupport", True),
        "enableDnsHostnames": ctx.get("enableDnsHostnames", False),
        "instanceTenancy": ctx.get("instanceTenancy", "default"),
    }


def _subnet_zone(ctx: Ctx) -> zones.Zone | None:
    if ctx.inputs.get("availabilityZoneId"):
        return zones.by_id(ctx.region, str(ctx.inputs["availabilityZoneId"]))
    if ctx.inputs.get("availabilityZone"):
        return zones.by_name(ctx.region, str(ctx.inputs["availabilityZone"]))
    return zones.zones(ctx.region)[0]  # EC2 picks one when neither is given


def _subnet_zone_exists(ctx: Ctx) -> str | None:
    # EC2 CreateSubnet refuses a zone the region (and account) does not have: InvalidParameterValue.
    if _subnet_zone(ctx) is not None:
        return None
    given = ctx.inputs.get("availabilityZoneId") or ctx.inputs.get("availabilityZone")
    known = ", ".join(f"{z.name} ({z.zone_id})" for z in zones.zones(ctx.region))
    return f"zone {given!r} does not exist in {ctx.region} (InvalidParameterValue); the account has {known}"


def _subnet(ctx: Ctx) -> dict[str, Any]:
    subnet_id = f"subnet-{ctx.hex(17, 'id')}"
    zone = _subnet_zone(ctx)
    assert zone is not None  # _subnet_zone_exists ran first
    return {
        "arn": ctx.arn("ec2", f"subnet/{subnet_id}"),
        "ownerId": ctx.account,
        "availabilityZone": zone.name,
        "availabilityZoneId": zone.zone_id,
        "mapPublicIpOnLaunch": ctx.get("mapPublicIpOnLaunch", False),
    }


def _ip(ctx: Ctx, salt: str, base: str = "203.0.113") -> str:
    return f"{base}.{ctx.digest(salt)[0] % 250 + 1}"


def _eip(ctx: Ctx) -> dict[str, Any]:
    public_ip = _ip(ctx, "public-ip")
    return {
        "allocationId": f"eipalloc-{ctx.hex(17, 'id')}",
        "publicIp": public_ip,
        "publicDns": f"ec2-{public_ip.replace('.', '-')}.compute-1.{DNS_SUFFIX}",
        "domain": ctx.get("domain", "vpc"),
        "arn": ctx.arn("ec2", f"elastic-ip/eipalloc-{ctx.hex(17, 'id')}"),
    }


def _nat(ctx: Ctx) -> dict[str, Any]:
    return {
        "networkInterfaceId": f"eni-{ctx.hex(17, 'eni')}",
        "privateIp": _ip(ctx, "private-ip", "10.0.0"),
        "publicIp": _ip(ctx, "public-ip"),
        "connectivityType": ctx.get("connectivityType", "public"),
    }


def _security_group(ctx: Ctx) -> dict[str, Any]:
    sg_id = f"sg-{ctx.hex(17, 'id')}"
    return {"arn": ctx.arn("ec2", f"security-group/{sg_id}"), "ownerId": ctx.account}


def _sg_rule(ctx: Ctx) -> dict[str, Any]:
    rule_id = f"sgr-{ctx.hex(17, 'id')}"
    return {"securityGroupRuleId": rule_id, "arn": ctx.arn("ec2", f"security-group-rule/{rule_id}")}


def _vpc_endpoint(ctx: Ctx) -> dict[str, Any]:
    endpoint_id = f"vpce-{ctx.hex(17, 'id')}"
    return {
        "arn": ctx.arn("ec2", f"vpc-endpoint/{endpoint_id}"),
        "prefixListId": f"pl-{ctx.hex(8, 'pl')}",
        "state": "available",
        "ownerId": ctx.account,
        "vpcEndpointType": ctx.get("vpcEndpointType", "Gateway"),
        "cidrBlocks": ["52.216.0.0/15"],
        "dnsEntries": [],
        "networkInterfaceIds": [],
    }


def _launch_template(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn("ec2", f"launch-template/lt-{ctx.hex(17, 'id')}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


# pulumi_aws vpc/security_group_ingress_rule.py (and _egress_): "Although `cidr_ipv4`, `cidr_ipv6`,
# `prefix_list_id`, and `referenced_security_group_id` are all marked as optional, you *must* provide one of
# them"; "The `from_port` and `to_port` arguments are required unless `ip_protocol` is set to `-1` or
# `icmpv6`". One rule has one source (the Terraform resource declares them ExactlyOneOf).
_SG_RULE_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")


def _sg_rule_source(ctx: Ctx) -> str | None:
    given = [prop for prop in _SG_RULE_SOURCES if ctx.inputs.get(prop) not in (None, "")]
    if len(given) != 1:
        return (
            f"exactly one of {', '.join(_SG_RULE_SOURCES)} must be set, got "
            f"{', '.join(given) if given else 'none'}"
        )
    if str(ctx.get("ipProtocol")) not in ("-1", "icmpv6") and (
        ctx.get("fromPort") is None or ctx.get("toPort") is None
    ):
        return "fromPort and toPort are required unless ipProtocol is -1 or icmpv6"
    return None


# EC2 refuses a security group's name or description, and a rule's description, outside this charset or over
# 255 characters: CreateSecurityGroup's GroupName/Description ("Valid characters: a-z, A-Z, 0-9, spaces, and
# ._-:/()#,@[]+=&;{}!$*", https://docs.aws.amazon.com/sdkfornet/v4/apidocs/items/EC2/MCreateSecurityGroupRequestctorStringString.html)
# and IpRange's Description (same set, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html).
# The CloudFormation schema of AWS::EC2::SecurityGroup carries the same pattern (cfn-lint E3031 found it).
_EC2_SG_TEXT = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")


def _ec2_sg_text(*props: str) -> Any:
    """EC2's charset and length for security group names and descriptions (given or defaulted)."""

    def check(ctx: Ctx) -> str | None:
        for prop in props:
            value = ctx.get(prop)
            if value is None or _EC2_SG_TEXT.match(str(value)):
                continue
            bad = sorted({char for char in str(value) if not _EC2_SG_TEXT.match(char)})
            return (
                f"{prop} {value!r} is refused by EC2: up to 255 of a-z, A-Z, 0-9, spaces and "
                f"._-:/()#,@[]+=&;{{}}!$* (refused: {''.join(bad) or 'length'})"
            )
        return None

    return check


register(
    # EC2 / VPC
    simple_ec2("aws:ec2/vpc:Vpc", "vpc", "vpc", compute=_vpc),
    Emulation(
        type="aws:ec2/subnet:Subnet", id=prefixed("subnet-"), compute=_subnet, checks=(_subnet_zone_exists,)
    ),
    simple_ec2("aws:ec2/internetGateway:InternetGateway", "igw", "internet-gateway"),
    Emulation(type="aws:ec2/eip:Eip", id=prefixed("eipalloc-"), compute=_eip),
    Emulation(type="aws:ec2/natGateway:NatGateway", id=prefixed("nat-"), compute=_nat),
    simple_ec2("aws:ec2/routeTable:RouteTable", "rtb", "route-table"),
    Emulation(type="aws:ec2/route:Route", id=prefixed("r-rtb-", 17)),
    Emulation(type="aws:ec2/routeTableAssociation:RouteTableAssociation", id=prefixed("rtbassoc-")),
    Emulation(type="aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation", id=prefixed("rtbassoc-")),
    Emulation(
        type="aws:ec2/securityGroup:SecurityGroup",
        id=prefixed("sg-"),
        autonames=(NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi", "revokeRulesOnDelete": False},
        compute=_security_group,
        checks=(_ec2_sg_text("name", "description"),),
    ),
    Emulation(
        type="aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        id=prefixed("sg-"),
        defaults={"name": "default", "description": "default VPC security group"},
        compute=_security_group,
    ),
    Emulation(
        type="aws:ec2/securityGroupRule:SecurityGroupRule",
        id=prefixed("sgrule-", 10),
        compute=_sg_rule,
        checks=(_ec2_sg_text("description"),),
    ),
    Emulation(
        type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        id=prefixed("sgr-"),
        checks=(_sg_rule_source, _ec2_sg_text("description")),
        compute=_sg_rule,
    ),
    Emulation(
        type="aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        id=prefixed("sgr-"),
        checks=(_sg_rule_source, _ec2_sg_text("description")),
        compute=_sg_rule,
    ),
    Emulation(type="aws:ec2/vpcEndpoint:VpcEndpoint", id=prefixed("vpce-"), compute=_vpc_endpoint),
    Emulation(
        type="aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
        id=prefixed("a-vpce-"),
    ),
    simple_ec2("aws:ec2/flowLog:FlowLog", "fl", "vpc-flow-log"),
    simple_ec2("aws:ec2/networkAcl:NetworkAcl", "acl", "network-acl"),
    simple_ec2("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "acl", "network-acl"),
    simple_ec2("aws:ec2/defaultRouteTable:DefaultRouteTable", "rtb", "route-table"),
    Emulation(
        type="aws:ec2/launchTemplate:LaunchTemplate",
        id=prefixed("lt-"),
        autonames=(NAME_OR_PREFIX,),
        compute=_launch_template,
    ),
)
