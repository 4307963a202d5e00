"""The mapping table's rows for EKS (cluster, node groups, add-ons, access entries, pod identity) and ECR."""

from __future__ import annotations

from ..shapes import first, pascal, pick
from .model import PREFIX_EXPANDED, Cfn, Drop, Merge, Row, Tf, To

ROWS: dict[str, Row] = {
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
                "nodeGroupNamePrefix": PREFIX_EXPANDED,
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
                "podIdentityAssociations": To(
                    "PodIdentityAssociations",
                    pick({"roleArn": "RoleArn", "serviceAccount": "ServiceAccount"}),
                ),
                "resolveConflictsOnUpdate": To("ResolveConflicts"),
                "resolveConflictsOnCreate": Drop(
                    "CloudFormation has one ResolveConflicts for create and update; the update value is "
                    "checked (it takes the larger set: NONE, OVERWRITE, PRESERVE)"
                ),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_eks_addon", renames={"podIdentityAssociations": "pod_identity_association"}),
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
}
