"""The mapping table: each ``aws:*`` type of the plan, as CloudFormation and as Terraform model it.

CloudFormation column: the resource type of the CloudFormation registry (the schemas cfn-lint ships), each
input's property path and shape, or the reason it is dropped; resources CloudFormation models inside another
one name their parent (``Merge``), and resources it splits add more (``split``).

Terraform column: pulumi-aws is bridged from the Terraform AWS provider, so a type and its attributes map
one to one. Type names are the bridge metadata's (pulumi/pulumi-aws,
``provider/cmd/pulumi-resource-aws/bridge-metadata.json``, ``renames.resources``:
``aws:rds/instance:Instance`` is ``aws_db_instance``). Attributes are the snake_case of their Pulumi
names, except list blocks that Pulumi pluralised (the same file's ``renamedProperties``, e.g.
``"defaultActions": "default_action"``), listed in ``renames``. checkov's own checks read the same names
(``default_action`` in ALBListenerHTTPS, ``encryption_configuration/[0]/encryption_type`` for ECR).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .plan import PlanResource
from .shapes import (
    Shape,
    as_bool,
    as_str,
    attribute,
    attributes,
    first,
    json_doc,
    name_value,
    pascal,
    pick,
    tag_list,
)


@dataclass(frozen=True, slots=True)
class To:
    """An input becomes the CloudFormation property at ``path`` (dotted for nesting), reshaped."""

    path: str
    shape: Shape | None = None
    append: bool = False
    """Extend (or append to) a list at ``path`` instead of setting it (attributes, merged children)."""


@dataclass(frozen=True, slots=True)
class Drop:
    """An input CloudFormation has no property for, and why that is right."""

    reason: str


@dataclass(frozen=True, slots=True)
class Merge:
    """The resource lives inside another CloudFormation resource: the parent of type ``into`` whose state
    ``key`` equals this resource's input ``by``."""

    into: str
    by: str
    key: str
    as_item: str = ""
    """If set, the child's mapped properties form one item appended to this list property of the parent."""


Split = Callable[[PlanResource, str], dict[str, dict[str, Any]]]
"""Extra CloudFormation resources for one Pulumi resource: (resource, its logical id) -> {id: resource}."""


@dataclass(frozen=True, slots=True)
class Cfn:
    """The CloudFormation column of a row."""

    type: str | None
    props: Mapping[str, To | Drop] = field(default_factory=dict)
    name: tuple[str, str] | None = None
    """(state key, property): the physical name as Pulumi creates it (the auto-name if none is set)."""
    tags: Literal["list", "map"] | None = None
    """How the type takes tags (the provider's default tags merged with the resource's), or untaggable."""
    merge: Merge | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Properties CloudFormation needs that Pulumi implies (a flow log's ``ResourceType``)."""
    split: Split | None = None
    nested_drops: Mapping[str, str] = field(default_factory=dict)
    """Dotted nested fields a shape drops, with the reason (listed in the coverage)."""
    reason: str = ""
    """Why the type has no CloudFormation resource (``type`` None)."""


@dataclass(frozen=True, slots=True)
class Tf:
    """The Terraform column of a row."""

    type: str
    renames: Mapping[str, str] = field(default_factory=dict)
    """Dotted Pulumi path (no list indices) -> Terraform attribute name, where not the plain snake_case."""
    maps: frozenset[str] = frozenset({"tags"})
    """Object-valued inputs that are Terraform maps; every other object is a (list) block."""


@dataclass(frozen=True, slots=True)
class Row:
    """One Pulumi type."""

    cfn: Cfn
    tf: Tf


_WRITE_ONLY_VERSION = Drop("Pulumi's trigger for re-sending a write-only value; not part of the AWS resource")
_PREFIX_EXPANDED = Drop("expanded into the physical name: the prefix plus the provider's random suffix")
_DELETE_BEHAVIOUR = Drop("what the provider does on delete; CloudFormation says it with DeletionPolicy")


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

_TARGET_GROUP_HEALTH = pick(
    {
        "enabled": "HealthCheckEnabled",
        "path": "HealthCheckPath",
        "port": "HealthCheckPort",
        "protocol": "HealthCheckProtocol",
        "interval": "HealthCheckIntervalSeconds",
        "timeout": "HealthCheckTimeoutSeconds",
        "healthyThreshold": "HealthyThresholdCount",
        "unhealthyThreshold": "UnhealthyThresholdCount",
        "matcher": ("Matcher", lambda code: {"HttpCode": code}),
    }
)

_LISTENER_ACTION = pick(
    {
        "type": "Type",
        "order": "Order",
        "targetGroupArn": "TargetGroupArn",
        "redirect": ("RedirectConfig", pascal),
        "fixedResponse": ("FixedResponseConfig", pascal),
        "forward": ("ForwardConfig", pascal),
    }
)

_LIFECYCLE_RULE = pick(
    {
        "id": "Id",
        "status": "Status",
        "filter": ("Filter", pascal),
        "prefix": "Prefix",
        "abortIncompleteMultipartUpload": ("AbortIncompleteMultipartUpload", pascal),
        "noncurrentVersionExpiration": ("NoncurrentVersionExpiration", pascal),
        "expiration": (
            "Expiration",
            pick({"days": "ExpirationInDays", "date": "ExpirationDate", "expiredObjectDeleteMarker": "Del"}),
        ),
        "transitions": ("Transitions", pascal),
        "noncurrentVersionTransitions": ("NoncurrentVersionTransitions", pascal),
    }
)


def _lifecycle_rules(rules: Any) -> list[dict[str, Any]]:
    """Terraform's rule blocks as CloudFormation's flat ``Rule`` (filter and expiration are fields there)."""
    out = []
    for rule in _LIFECYCLE_RULE(rules):
        flat = {k: v for k, v in rule.items() if k not in ("Filter", "Expiration")}
        filter_ = rule.get("Filter") or {}
        if "Prefix" in filter_:
            flat["Prefix"] = filter_["Prefix"]
        if "Tag" in filter_:
            flat["TagFilters"] = [filter_["Tag"]]
        for key in filter_:
            if key not in ("Prefix", "Tag"):
                flat[key] = filter_[key]
        expiration = rule.get("Expiration") or {}
        if "Del" in expiration:
            flat["ExpiredObjectDeleteMarker"] = expiration["Del"]
        for key in ("ExpirationInDays", "ExpirationDate"):
            if key in expiration:
                flat[key] = expiration[key]
        out.append(flat)
    return out


_S3_CHILD = Merge(into="aws:s3/bucket:Bucket", by="bucket", key="bucket")

TABLE: dict[str, Row] = {
    # --- CloudWatch ---
    "aws:cloudwatch/logGroup:LogGroup": Row(
        Cfn(
            "AWS::Logs::LogGroup",
            {
                "name": To("LogGroupName"),
                "namePrefix": _PREFIX_EXPANDED,
                "retentionInDays": To("RetentionInDays"),
                "kmsKeyId": To("KmsKeyId"),
                "logGroupClass": To("LogGroupClass"),
                "tags": To("Tags"),
            },
            name=("name", "LogGroupName"),
            tags="list",
        ),
        Tf("aws_cloudwatch_log_group"),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Row(
        Cfn(
            "AWS::CloudWatch::Alarm",
            {
                "name": To("AlarmName"),
                "alarmActions": To("AlarmActions"),
                "okActions": To("OKActions"),
                "insufficientDataActions": To("InsufficientDataActions"),
                "alarmDescription": To("AlarmDescription"),
                "comparisonOperator": To("ComparisonOperator"),
                "datapointsToAlarm": To("DatapointsToAlarm"),
                "dimensions": To("Dimensions", name_value),
                "evaluationPeriods": To("EvaluationPeriods"),
                "metricName": To("MetricName"),
                "namespace": To("Namespace"),
                "period": To("Period"),
                "statistic": To("Statistic"),
                "threshold": To("Threshold"),
                "treatMissingData": To("TreatMissingData"),
                "unit": To("Unit"),
                "tags": To("Tags"),
            },
            name=("name", "AlarmName"),
            tags="list",
        ),
        Tf("aws_cloudwatch_metric_alarm", maps=frozenset({"tags", "dimensions"})),
    ),
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
                "namePrefix": _PREFIX_EXPANDED,
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
                "namePrefix": _PREFIX_EXPANDED,
                "description": To("GroupDescription"),
                "vpcId": To("VpcId"),
                "revokeRulesOnDelete": _DELETE_BEHAVIOUR,
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
    # --- ECR ---
    "aws:ecr/repository:Repository": Row(
        Cfn(
            "AWS::ECR::Repository",
            {
                "name": To("RepositoryName"),
                "encryptionConfigurations": To(
                    "EncryptionConfiguration",
                    first(pick({"encryptionType": "EncryptionType", "kmsKey": "KmsKey"})),
                ),
                "forceDelete": To("EmptyOnDelete"),
                "imageScanningConfiguration": To("ImageScanningConfiguration", pascal),
                "imageTagMutability": To("ImageTagMutability"),
                "tags": To("Tags"),
            },
            name=("name", "RepositoryName"),
            tags="list",
        ),
        Tf("aws_ecr_repository", renames={"encryptionConfigurations": "encryption_configuration"}),
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Row(
        Cfn(
            "AWS::ECR::Repository",
            {
                "repository": Drop("names the repository it is merged into"),
                "policy": To("LifecyclePolicy.LifecyclePolicyText"),
            },
            merge=Merge(into="aws:ecr/repository:Repository", by="repository", key="name"),
        ),
        Tf("aws_ecr_lifecycle_policy"),
    ),
    # --- EKS ---
    "aws:eks/cluster:Cluster": Row(
        Cfn(
            "AWS::EKS::Cluster",
            {
                "name": To("Name"),
                "version": To("Version"),
                "roleArn": To("RoleArn"),
                "accessConfig": To("AccessConfig", pascal),
                "vpcConfig": To("ResourcesVpcConfig", pascal),
                "enabledClusterLogTypes": To(
                    "Logging.ClusterLogging.EnabledTypes", lambda types: [{"Type": t} for t in types]
                ),
                "upgradePolicy": To("UpgradePolicy", pascal),
                "deletionProtection": To("DeletionProtection"),
                "bootstrapSelfManagedAddons": To("BootstrapSelfManagedAddons"),
                "encryptionConfig": To("EncryptionConfig", lambda config: [pascal(config)]),
                "kubernetesNetworkConfig": To("KubernetesNetworkConfig", pascal),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_eks_cluster"),
    ),
    "aws:eks/nodeGroup:NodeGroup": Row(
        Cfn(
            "AWS::EKS::Nodegroup",
            {
                "nodeGroupName": To("NodegroupName"),
                "nodeGroupNamePrefix": _PREFIX_EXPANDED,
                "clusterName": To("ClusterName"),
                "nodeRoleArn": To("NodeRole"),
                "subnetIds": To("Subnets"),
                "instanceTypes": To("InstanceTypes"),
                "amiType": To("AmiType"),
                "capacityType": To("CapacityType"),
                "labels": To("Labels"),
                "taints": To("Taints", pascal),
                "launchTemplate": To("LaunchTemplate", pascal),
                "scalingConfig": To("ScalingConfig", pascal),
                "updateConfig": To("UpdateConfig", pascal),
                "version": To("Version"),
                "releaseVersion": To("ReleaseVersion"),
                "diskSize": To("DiskSize"),
                "tags": To("Tags"),
            },
            name=("nodeGroupName", "NodegroupName"),
            tags="map",
        ),
        Tf("aws_eks_node_group", renames={"taints": "taint"}, maps=frozenset({"tags", "labels"})),
    ),
    "aws:eks/accessEntry:AccessEntry": Row(
        Cfn(
            "AWS::EKS::AccessEntry",
            {
                "clusterName": To("ClusterName"),
                "principalArn": To("PrincipalArn"),
                "type": To("Type"),
                "kubernetesGroups": To("KubernetesGroups"),
                "userName": To("Username"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_eks_access_entry"),
    ),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": Row(
        Cfn(
            "AWS::EKS::AccessEntry",
            {
                "clusterName": Drop("names the cluster of the access entry it is merged into"),
                "principalArn": Drop("names the access entry it is merged into"),
                "policyArn": To("PolicyArn"),
                "accessScope": To("AccessScope", pascal),
            },
            merge=Merge(
                into="aws:eks/accessEntry:AccessEntry",
                by="principalArn",
                key="principalArn",
                as_item="AccessPolicies",
            ),
        ),
        Tf("aws_eks_access_policy_association"),
    ),
    "aws:eks/addon:Addon": Row(
        Cfn(
            "AWS::EKS::Addon",
            {
                "addonName": To("AddonName"),
                "clusterName": To("ClusterName"),
                "addonVersion": To("AddonVersion"),
                "configurationValues": To("ConfigurationValues"),
                "serviceAccountRoleArn": To("ServiceAccountRoleArn"),
                "resolveConflictsOnUpdate": To("ResolveConflicts"),
                "resolveConflictsOnCreate": Drop(
                    "CloudFormation has one ResolveConflicts for create and update; the update value is "
                    "checked (it takes the larger set: NONE, OVERWRITE, PRESERVE)"
                ),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_eks_addon"),
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": Row(
        Cfn(
            "AWS::EKS::PodIdentityAssociation",
            {
                "clusterName": To("ClusterName"),
                "namespace": To("Namespace"),
                "serviceAccount": To("ServiceAccount"),
                "roleArn": To("RoleArn"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_eks_pod_identity_association"),
    ),
    # --- ElastiCache ---
    "aws:elasticache/parameterGroup:ParameterGroup": Row(
        Cfn(
            "AWS::ElastiCache::ParameterGroup",
            {
                "name": Drop("CloudFormation generates the parameter group's name (no name property)"),
                "description": To("Description"),
                "family": To("CacheParameterGroupFamily"),
                "parameters": To(
                    "Properties", lambda params: {p["name"]: as_str(p["value"]) for p in params}
                ),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_elasticache_parameter_group", renames={"parameters": "parameter"}),
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": Row(
        Cfn(
            "AWS::ElastiCache::ReplicationGroup",
            {
                "replicationGroupId": To("ReplicationGroupId"),
                "description": To("ReplicationGroupDescription"),
                "engine": To("Engine"),
                "engineVersion": To("EngineVersion"),
                "nodeType": To("CacheNodeType"),
                "numCacheClusters": To("NumCacheClusters"),
                "numNodeGroups": To("NumNodeGroups"),
                "replicasPerNodeGroup": To("ReplicasPerNodeGroup"),
                "port": To("Port"),
                "parameterGroupName": To("CacheParameterGroupName"),
                "subnetGroupName": To("CacheSubnetGroupName"),
                "securityGroupIds": To("SecurityGroupIds"),
                "automaticFailoverEnabled": To("AutomaticFailoverEnabled"),
                "multiAzEnabled": To("MultiAZEnabled"),
                "atRestEncryptionEnabled": To("AtRestEncryptionEnabled"),
                "transitEncryptionEnabled": To("TransitEncryptionEnabled"),
                "transitEncryptionMode": To("TransitEncryptionMode"),
                "kmsKeyId": To("KmsKeyId"),
                "authTokenWo": To("AuthToken"),
                "authTokenWoVersion": _WRITE_ONLY_VERSION,
                "authTokenUpdateStrategy": Drop(
                    "how the provider changes an existing token (ModifyReplicationGroup); nothing at create"
                ),
                "autoMinorVersionUpgrade": To("AutoMinorVersionUpgrade"),
                "maintenanceWindow": To("PreferredMaintenanceWindow"),
                "snapshotWindow": To("SnapshotWindow"),
                "snapshotRetentionLimit": To("SnapshotRetentionLimit"),
                "applyImmediately": Drop("a provider flag for modifications; nothing at create"),
                "finalSnapshotIdentifier": Drop(
                    "used only at delete (DeleteReplicationGroup); CloudFormation says it with DeletionPolicy"
                ),
                "tags": To("Tags"),
            },
            name=("replicationGroupId", "ReplicationGroupId"),
            tags="list",
        ),
        Tf("aws_elasticache_replication_group"),
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": Row(
        Cfn(
            "AWS::ElastiCache::SubnetGroup",
            {
                "name": To("CacheSubnetGroupName"),
                "description": To("Description"),
                "subnetIds": To("SubnetIds"),
                "tags": To("Tags"),
            },
            name=("name", "CacheSubnetGroupName"),
            tags="list",
        ),
        Tf("aws_elasticache_subnet_group"),
    ),
    # --- IAM ---
    "aws:iam/role:Role": Row(
        Cfn(
            "AWS::IAM::Role",
            {
                "name": To("RoleName"),
                "namePrefix": _PREFIX_EXPANDED,
                "assumeRolePolicy": To("AssumeRolePolicyDocument", json_doc),
                "description": To("Description"),
                "maxSessionDuration": To("MaxSessionDuration"),
                "path": To("Path"),
                "permissionsBoundary": To("PermissionsBoundary"),
                "tags": To("Tags"),
            },
            name=("name", "RoleName"),
            tags="list",
        ),
        Tf("aws_iam_role", renames={"inlinePolicies": "inline_policy"}),
    ),
    "aws:iam/rolePolicy:RolePolicy": Row(
        Cfn(
            "AWS::IAM::RolePolicy",
            {
                "name": To("PolicyName"),
                "namePrefix": _PREFIX_EXPANDED,
                "role": To("RoleName"),
                "policy": To("PolicyDocument", json_doc),
            },
            name=("name", "PolicyName"),
        ),
        Tf("aws_iam_role_policy"),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Row(
        Cfn(
            "AWS::IAM::Role",
            {
                "role": Drop("names the role it is merged into"),
                "policyArn": To("ManagedPolicyArns", lambda arn: [arn], append=True),
            },
            merge=Merge(into="aws:iam/role:Role", by="role", key="name"),
        ),
        Tf("aws_iam_role_policy_attachment"),
    ),
    # --- KMS ---
    "aws:kms/key:Key": Row(
        Cfn(
            "AWS::KMS::Key",
            {
                "description": To("Description"),
                "enableKeyRotation": To("EnableKeyRotation"),
                "deletionWindowInDays": To("PendingWindowInDays"),
                "policy": To("KeyPolicy", json_doc),
                "keyUsage": To("KeyUsage"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_kms_key"),
    ),
    "aws:kms/alias:Alias": Row(
        Cfn(
            "AWS::KMS::Alias",
            {"name": To("AliasName"), "namePrefix": _PREFIX_EXPANDED, "targetKeyId": To("TargetKeyId")},
            name=("name", "AliasName"),
        ),
        Tf("aws_kms_alias"),
    ),
    # --- Load balancing ---
    "aws:lb/loadBalancer:LoadBalancer": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            {
                "name": To("Name"),
                "namePrefix": _PREFIX_EXPANDED,
                "internal": To("Scheme", lambda internal: "internal" if internal else "internet-facing"),
                "loadBalancerType": To("Type"),
                "subnets": To("Subnets"),
                "securityGroups": To("SecurityGroups"),
                "ipAddressType": To("IpAddressType"),
                # Attributes (ModifyLoadBalancerAttributes), by the names AWS documents for ALBs.
                "accessLogs": To(
                    "LoadBalancerAttributes",
                    attributes(
                        {
                            "enabled": "access_logs.s3.enabled",
                            "bucket": "access_logs.s3.bucket",
                            "prefix": "access_logs.s3.prefix",
                        }
                    ),
                    append=True,
                ),
                "enableDeletionProtection": To(
                    "LoadBalancerAttributes", attribute("deletion_protection.enabled"), append=True
                ),
                "enableHttp2": To("LoadBalancerAttributes", attribute("routing.http2.enabled"), append=True),
                "idleTimeout": To(
                    "LoadBalancerAttributes", attribute("idle_timeout.timeout_seconds"), append=True
                ),
                "dropInvalidHeaderFields": To(
                    "LoadBalancerAttributes",
                    attribute("routing.http.drop_invalid_header_fields.enabled"),
                    append=True,
                ),
                "desyncMitigationMode": To(
                    "LoadBalancerAttributes", attribute("routing.http.desync_mitigation_mode"), append=True
                ),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_lb", renames={"subnetMappings": "subnet_mapping"}),
    ),
    "aws:lb/targetGroup:TargetGroup": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            {
                "name": To("Name"),
                "namePrefix": _PREFIX_EXPANDED,
                "port": To("Port"),
                "protocol": To("Protocol"),
                "protocolVersion": To("ProtocolVersion"),
                "targetType": To("TargetType"),
                "vpcId": To("VpcId"),
                "healthCheck": To("", _TARGET_GROUP_HEALTH),
                "deregistrationDelay": To(
                    "TargetGroupAttributes", attribute("deregistration_delay.timeout_seconds"), append=True
                ),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_lb_target_group"),
    ),
    "aws:lb/listener:Listener": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::Listener",
            {
                "loadBalancerArn": To("LoadBalancerArn"),
                "port": To("Port"),
                "protocol": To("Protocol"),
                "sslPolicy": To("SslPolicy"),
                "certificateArn": To("Certificates", lambda arn: [{"CertificateArn": arn}]),
                "defaultActions": To("DefaultActions", _LISTENER_ACTION),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_lb_listener", renames={"defaultActions": "default_action"}),
    ),
    # --- RDS ---
    "aws:rds/instance:Instance": Row(
        Cfn(
            "AWS::RDS::DBInstance",
            {
                "identifier": To("DBInstanceIdentifier"),
                "identifierPrefix": _PREFIX_EXPANDED,
                "engine": To("Engine"),
                "engineVersion": To("EngineVersion"),
                "instanceClass": To("DBInstanceClass"),
                "allocatedStorage": To("AllocatedStorage", as_str),
                "maxAllocatedStorage": To("MaxAllocatedStorage"),
                "storageType": To("StorageType"),
                "storageEncrypted": To("StorageEncrypted"),
                "kmsKeyId": To("KmsKeyId"),
                "iops": To("Iops"),
                "dbName": To("DBName"),
                "username": To("MasterUsername"),
                "passwordWo": To("MasterUserPassword"),
                "passwordWoVersion": _WRITE_ONLY_VERSION,
                "manageMasterUserPassword": To("ManageMasterUserPassword"),
                "port": To("Port", as_str),
                "parameterGroupName": To("DBParameterGroupName"),
                "dbSubnetGroupName": To("DBSubnetGroupName"),
                "vpcSecurityGroupIds": To("VPCSecurityGroups"),
                "publiclyAccessible": To("PubliclyAccessible"),
                "multiAz": To("MultiAZ"),
                "availabilityZone": To("AvailabilityZone"),
                "backupRetentionPeriod": To("BackupRetentionPeriod"),
                "backupWindow": To("PreferredBackupWindow"),
                "maintenanceWindow": To("PreferredMaintenanceWindow"),
                "copyTagsToSnapshot": To("CopyTagsToSnapshot"),
                "deletionProtection": To("DeletionProtection"),
                "autoMinorVersionUpgrade": To("AutoMinorVersionUpgrade"),
                "enabledCloudwatchLogsExports": To("EnableCloudwatchLogsExports"),
                "performanceInsightsEnabled": To("EnablePerformanceInsights"),
                "performanceInsightsRetentionPeriod": To("PerformanceInsightsRetentionPeriod"),
                "performanceInsightsKmsKeyId": To("PerformanceInsightsKMSKeyId"),
                "monitoringInterval": To("MonitoringInterval"),
                "monitoringRoleArn": To("MonitoringRoleArn"),
                "iamDatabaseAuthenticationEnabled": To("EnableIAMDatabaseAuthentication"),
                "caCertIdentifier": To("CACertificateIdentifier"),
                "replicateSourceDb": To("SourceDBInstanceIdentifier"),
                "skipFinalSnapshot": _DELETE_BEHAVIOUR,
                "finalSnapshotIdentifier": Drop(
                    "used only at delete (DeleteDBInstance); CloudFormation says it with DeletionPolicy"
                ),
                "applyImmediately": Drop("a provider flag for modifications; nothing at create"),
                "tags": To("Tags"),
            },
            name=("identifier", "DBInstanceIdentifier"),
            tags="list",
        ),
        Tf("aws_db_instance"),
    ),
    "aws:rds/parameterGroup:ParameterGroup": Row(
        Cfn(
            "AWS::RDS::DBParameterGroup",
            {
                "name": To("DBParameterGroupName"),
                "namePrefix": _PREFIX_EXPANDED,
                "description": To("Description"),
                "family": To("Family"),
                "parameters": To(
                    "Parameters", lambda params: {p["name"]: as_str(p["value"]) for p in params}
                ),
                "tags": To("Tags"),
            },
            name=("name", "DBParameterGroupName"),
            tags="list",
            nested_drops={
                "parameters.applyMethod": "CloudFormation applies static parameters at the next reboot and "
                "dynamic ones at once; there is no per-parameter method"
            },
        ),
        Tf("aws_db_parameter_group", renames={"parameters": "parameter"}),
    ),
    "aws:rds/subnetGroup:SubnetGroup": Row(
        Cfn(
            "AWS::RDS::DBSubnetGroup",
            {
                "name": To("DBSubnetGroupName"),
                "namePrefix": _PREFIX_EXPANDED,
                "description": To("DBSubnetGroupDescription"),
                "subnetIds": To("SubnetIds"),
                "tags": To("Tags"),
            },
            name=("name", "DBSubnetGroupName"),
            tags="list",
        ),
        Tf("aws_db_subnet_group"),
    ),
    "aws:rds/proxy:Proxy": Row(
        Cfn(
            "AWS::RDS::DBProxy",
            {
                "name": To("DBProxyName"),
                "engineFamily": To("EngineFamily"),
                "roleArn": To("RoleArn"),
                "vpcSubnetIds": To("VpcSubnetIds"),
                "vpcSecurityGroupIds": To("VpcSecurityGroupIds"),
                "requireTls": To("RequireTLS"),
                "idleClientTimeout": To("IdleClientTimeout"),
                "debugLogging": To("DebugLogging"),
                "auths": To(
                    "Auth",
                    pick(
                        {
                            "authScheme": "AuthScheme",
                            "clientPasswordAuthType": "ClientPasswordAuthType",
                            "description": "Description",
                            "iamAuth": "IAMAuth",
                            "secretArn": "SecretArn",
                            "username": "UserName",
                        }
                    ),
                ),
                "tags": To("Tags", tag_list),
            },
            name=("name", "DBProxyName"),
            tags="list",
        ),
        Tf("aws_db_proxy", renames={"auths": "auth"}),
    ),
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": Row(
        Cfn(
            "AWS::RDS::DBProxyTargetGroup",
            {
                "dbProxyName": To("DBProxyName"),
                "connectionPoolConfig": To("ConnectionPoolConfigurationInfo", pascal),
            },
            fixed={"TargetGroupName": "default"},
        ),
        Tf("aws_db_proxy_default_target_group"),
    ),
    "aws:rds/proxyTarget:ProxyTarget": Row(
        Cfn(
            "AWS::RDS::DBProxyTargetGroup",
            {
                "dbProxyName": Drop("names the proxy's target group it is merged into"),
                "targetGroupName": To("TargetGroupName"),
                "dbInstanceIdentifier": To("DBInstanceIdentifiers", lambda name: [name], append=True),
                "dbClusterIdentifier": To("DBClusterIdentifiers", lambda name: [name], append=True),
            },
            merge=Merge(
                into="aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
                by="dbProxyName",
                key="dbProxyName",
            ),
        ),
        Tf("aws_db_proxy_target"),
    ),
    # --- S3: CloudFormation keeps a bucket's configuration inside AWS::S3::Bucket ---
    "aws:s3/bucket:Bucket": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": To("BucketName"),
                "bucketPrefix": _PREFIX_EXPANDED,
                "forceDestroy": _DELETE_BEHAVIOUR,
                "tags": To("Tags"),
            },
            name=("bucket", "BucketName"),
            tags="list",
        ),
        Tf("aws_s3_bucket"),
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "blockPublicAcls": To("PublicAccessBlockConfiguration.BlockPublicAcls"),
                "blockPublicPolicy": To("PublicAccessBlockConfiguration.BlockPublicPolicy"),
                "ignorePublicAcls": To("PublicAccessBlockConfiguration.IgnorePublicAcls"),
                "restrictPublicBuckets": To("PublicAccessBlockConfiguration.RestrictPublicBuckets"),
            },
            merge=_S3_CHILD,
        ),
        Tf("aws_s3_bucket_public_access_block"),
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "rules": To(
                    "BucketEncryption.ServerSideEncryptionConfiguration",
                    pick(
                        {
                            "applyServerSideEncryptionByDefault": (
                                "ServerSideEncryptionByDefault",
                                pick({"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}),
                            ),
                            "bucketKeyEnabled": "BucketKeyEnabled",
                        }
                    ),
                ),
            },
            merge=_S3_CHILD,
        ),
        Tf(
            "aws_s3_bucket_server_side_encryption_configuration",
            renames={"rules": "rule"},
        ),
    ),
    "aws:s3/bucketVersioning:BucketVersioning": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "versioningConfiguration": To("VersioningConfiguration", pick({"status": "Status"})),
            },
            merge=_S3_CHILD,
        ),
        Tf("aws_s3_bucket_versioning"),
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "rules": To("LifecycleConfiguration.Rules", _lifecycle_rules),
            },
            merge=_S3_CHILD,
        ),
        Tf(
            "aws_s3_bucket_lifecycle_configuration",
            renames={"rules": "rule", "rules.transitions": "transition"},
        ),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "rule": To("OwnershipControls.Rules", lambda rule: [pascal(rule)]),
            },
            merge=_S3_CHILD,
        ),
        Tf("aws_s3_bucket_ownership_controls"),
    ),
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "corsRules": To(
                    "CorsConfiguration.CorsRules",
                    pick(
                        {
                            "id": "Id",
                            "allowedOrigins": "AllowedOrigins",
                            "allowedMethods": "AllowedMethods",
                            "allowedHeaders": "AllowedHeaders",
                            "exposeHeaders": "ExposedHeaders",
                            "maxAgeSeconds": "MaxAge",
                        }
                    ),
                ),
            },
            merge=_S3_CHILD,
        ),
        Tf("aws_s3_bucket_cors_configuration", renames={"corsRules": "cors_rule"}),
    ),
    "aws:s3/bucketPolicy:BucketPolicy": Row(
        Cfn("AWS::S3::BucketPolicy", {"bucket": To("Bucket"), "policy": To("PolicyDocument", json_doc)}),
        Tf("aws_s3_bucket_policy"),
    ),
    # --- Secrets Manager ---
    "aws:secretsmanager/secret:Secret": Row(
        Cfn(
            "AWS::SecretsManager::Secret",
            {
                "name": To("Name"),
                "namePrefix": _PREFIX_EXPANDED,
                "description": To("Description"),
                "kmsKeyId": To("KmsKeyId"),
                "recoveryWindowInDays": Drop(
                    "used only at delete (DeleteSecret's RecoveryWindowInDays); no CloudFormation property"
                ),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_secretsmanager_secret"),
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": Row(
        Cfn(
            "AWS::SecretsManager::Secret",
            {
                "secretId": Drop("names the secret it is merged into"),
                "secretString": To("SecretString"),
                "secretStringWo": To("SecretString"),
                "secretStringWoVersion": _WRITE_ONLY_VERSION,
            },
            merge=Merge(into="aws:secretsmanager/secret:Secret", by="secretId", key="arn"),
        ),
        Tf("aws_secretsmanager_secret_version"),
    ),
}
