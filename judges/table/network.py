"""The mapping table's rows for EC2 and VPC: VPCs, subnets, gateways, routes, security groups, endpoints."""

from __future__ import annotations

from typing import Any

from ..plan import PlanResource
from ..shapes import as_bool, json_doc, pascal, pick, tag_list
from .model import DELETE_BEHAVIOUR, PREFIX_EXPANDED, Cfn, Drop, Row, Tf, To


def _igw_attachment(resource: PlanResource, logical: str) -> dict[str, dict[str, Any]]:
    """CloudFormation attaches an internet gateway with its own resource; Pulumi's ``vpcId`` does it."""
    vpc = resource.inputs.get("vpcId")
    if not vpc:
        return {}
    return {
        f"{logical}Attachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": vpc, "InternetGatewayId": resource.id},
        }
    }


_SG_RULE: dict[str, To | Drop] = {
    "securityGroupId": To("GroupId"),
    "ipProtocol": To("IpProtocol"),
    "fromPort": To("FromPort"),
    "toPort": To("ToPort"),
    "cidrIpv4": To("CidrIp"),
    "cidrIpv6": To("CidrIpv6"),
    "description": To("Description"),
    "tags": Drop("AWS::EC2::SecurityGroupIngress/Egress take no tags (the rule's tags are EC2 tags on sgr-)"),
}


def _inline_rules(peer: str) -> Any:
    """A security group's inline rules (``ingress``/``egress`` blocks: a protocol, a port range, lists of
    CIDRs) as AWS::EC2::SecurityGroup's ``SecurityGroupIngress``/``SecurityGroupEgress``: one item per CIDR
    (the schema's Ingress/Egress items take one ``CidrIp``); ``peer`` names the other side's group key."""

    def shape(rules: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rule in rules:
            base = {"IpProtocol": rule["protocol"], "FromPort": rule["fromPort"], "ToPort": rule["toPort"]}
            if rule.get("description"):
                base["Description"] = rule["description"]
            out += [{**base, "CidrIp": cidr} for cidr in rule.get("cidrBlocks") or []]
            out += [{**base, "CidrIpv6": cidr} for cidr in rule.get("ipv6CidrBlocks") or []]
            out += [{**base, peer: group} for group in rule.get("securityGroups") or []]
        return out

    return shape


ROWS: dict[str, Row] = {
    # --- EC2 / VPC ---
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": Row(
        Cfn(
            None,
            reason="CloudFormation has no resource that adopts a VPC's default security group; Pulumi adopts "
            "it and empties its rules (checkov judges it as aws_default_security_group)",
        ),
        Tf("aws_default_security_group"),
    ),
    "aws:ec2/eip:Eip": Row(
        Cfn("AWS::EC2::EIP", {"domain": To("Domain"), "tags": To("Tags")}, tags="list"),
        Tf("aws_eip"),
    ),
    "aws:ec2/flowLog:FlowLog": Row(
        Cfn(
            "AWS::EC2::FlowLog",
            {
                "vpcId": To("ResourceId"),
                "trafficType": To("TrafficType"),
                "iamRoleArn": To("DeliverLogsPermissionArn"),
                "logDestination": To("LogDestination"),
                "logDestinationType": To("LogDestinationType"),
                "maxAggregationInterval": To("MaxAggregationInterval"),
                "logFormat": To("LogFormat"),
                "tags": To("Tags"),
            },
            fixed={"ResourceType": "VPC"},
            tags="list",
        ),
        Tf("aws_flow_log"),
    ),
    "aws:ec2/internetGateway:InternetGateway": Row(
        Cfn(
            "AWS::EC2::InternetGateway",
            {
                "tags": To("Tags"),
                "vpcId": Drop("CloudFormation attaches with AWS::EC2::VPCGatewayAttachment"),
            },
            tags="list",
            split=_igw_attachment,
        ),
        Tf("aws_internet_gateway"),
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": Row(
        Cfn(
            "AWS::EC2::LaunchTemplate",
            {
                "name": To("LaunchTemplateName"),
                "namePrefix": PREFIX_EXPANDED,
                "description": To("VersionDescription"),
                "updateDefaultVersion": Drop(
                    "the provider's switch to make each new version the default; CloudFormation's template "
                    "has one version, the default"
                ),
                "blockDeviceMappings": To(
                    "LaunchTemplateData.BlockDeviceMappings",
                    pick(
                        {
                            "deviceName": "DeviceName",
                            "ebs": (
                                "Ebs",
                                lambda ebs: {k: as_bool(v) for k, v in pascal(ebs).items()},
                            ),
                        }
                    ),
                ),
                "vpcSecurityGroupIds": To("LaunchTemplateData.SecurityGroupIds"),
                "metadataOptions": To("LaunchTemplateData.MetadataOptions", pascal),
                "tagSpecifications": To(
                    "LaunchTemplateData.TagSpecifications",
                    pick({"resourceType": "ResourceType", "tags": ("Tags", tag_list)}),
                ),
                "imageId": To("LaunchTemplateData.ImageId"),
                "instanceType": To("LaunchTemplateData.InstanceType"),
                "userData": To("LaunchTemplateData.UserData"),
                "tags": To(
                    "TagSpecifications", lambda tags: [{"ResourceType": "launch-template", "Tags": tags}]
                ),
            },
            name=("name", "LaunchTemplateName"),
        ),
        Tf("aws_launch_template"),
    ),
    "aws:ec2/natGateway:NatGateway": Row(
        Cfn(
            "AWS::EC2::NatGateway",
            {
                "allocationId": To("AllocationId"),
                "subnetId": To("SubnetId"),
                "connectivityType": To("ConnectivityType"),
                "privateIp": To("PrivateIpAddress"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_nat_gateway"),
    ),
    "aws:ec2/route:Route": Row(
        Cfn(
            "AWS::EC2::Route",
            {
                "routeTableId": To("RouteTableId"),
                "destinationCidrBlock": To("DestinationCidrBlock"),
                "destinationIpv6CidrBlock": To("DestinationIpv6CidrBlock"),
                "destinationPrefixListId": To("DestinationPrefixListId"),
                "gatewayId": To("GatewayId"),
                "natGatewayId": To("NatGatewayId"),
                "vpcEndpointId": To("VpcEndpointId"),
                "transitGatewayId": To("TransitGatewayId"),
            },
        ),
        Tf("aws_route"),
    ),
    "aws:ec2/routeTable:RouteTable": Row(
        Cfn("AWS::EC2::RouteTable", {"vpcId": To("VpcId"), "tags": To("Tags")}, tags="list"),
        Tf("aws_route_table", renames={"routes": "route"}),
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Row(
        Cfn(
            "AWS::EC2::SubnetRouteTableAssociation",
            {"subnetId": To("SubnetId"), "routeTableId": To("RouteTableId")},
        ),
        Tf("aws_route_table_association"),
    ),
    "aws:ec2/securityGroup:SecurityGroup": Row(
        Cfn(
            "AWS::EC2::SecurityGroup",
            {
                "name": To("GroupName"),
                "namePrefix": PREFIX_EXPANDED,
                "description": To("GroupDescription"),
                "vpcId": To("VpcId"),
                "revokeRulesOnDelete": DELETE_BEHAVIOUR,
                "ingress": To("SecurityGroupIngress", _inline_rules("SourceSecurityGroupId")),
                "egress": To("SecurityGroupEgress", _inline_rules("DestinationSecurityGroupId")),
                "tags": To("Tags"),
            },
            name=("name", "GroupName"),
            fixed={},
            tags="list",
        ),
        Tf("aws_security_group"),
    ),
    "aws:ec2/subnet:Subnet": Row(
        Cfn(
            "AWS::EC2::Subnet",
            {
                "vpcId": To("VpcId"),
                "cidrBlock": To("CidrBlock"),
                "availabilityZone": To("AvailabilityZone"),
                "availabilityZoneId": To("AvailabilityZoneId"),
                "mapPublicIpOnLaunch": To("MapPublicIpOnLaunch"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_subnet"),
    ),
    "aws:ec2/vpc:Vpc": Row(
        Cfn(
            "AWS::EC2::VPC",
            {
                "cidrBlock": To("CidrBlock"),
                "enableDnsHostnames": To("EnableDnsHostnames"),
                "enableDnsSupport": To("EnableDnsSupport"),
                "instanceTenancy": To("InstanceTenancy"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_vpc"),
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": Row(
        Cfn(
            "AWS::EC2::VPCEndpoint",
            {
                "vpcId": To("VpcId"),
                "serviceName": To("ServiceName"),
                "vpcEndpointType": To("VpcEndpointType"),
                "routeTableIds": To("RouteTableIds"),
                "subnetIds": To("SubnetIds"),
                "securityGroupIds": To("SecurityGroupIds"),
                "privateDnsEnabled": To("PrivateDnsEnabled"),
                "policy": To("PolicyDocument", json_doc),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_vpc_endpoint"),
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Row(
        Cfn(
            "AWS::EC2::SecurityGroupIngress",
            {
                **_SG_RULE,
                "referencedSecurityGroupId": To("SourceSecurityGroupId"),
                "prefixListId": To("SourcePrefixListId"),
            },
        ),
        Tf("aws_vpc_security_group_ingress_rule"),
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": Row(
        Cfn(
            "AWS::EC2::SecurityGroupEgress",
            {
                **_SG_RULE,
                "referencedSecurityGroupId": To("DestinationSecurityGroupId"),
                "prefixListId": To("DestinationPrefixListId"),
            },
        ),
        Tf("aws_vpc_security_group_egress_rule"),
    ),
}
