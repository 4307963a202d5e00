"""The EKS cluster, node groups, add-ons, access entries, Cluster Autoscaler, Load Balancer Controller and the
Kubernetes provider, on the inputs recorded by the offline engine for dev, prod and variants of them."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from infra.autoscaler import autoscaler_policy
from infra.cluster import kubeconfig, principal_key
from infra.lb_controller import POLICY_FILE, controller_policy
from policy import RULES, PolicyResource, check_rule, from_records
from stacks.config.cluster import ROLLOUT_SURGE
from tests.support.harness import RecordedResource, StackRun, config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KMS_KEY = "aws:kms/key:Key"
SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"

ADMIN_A = "arn:aws:iam::123456789012:role/platform-admins"
ADMIN_B = "arn:aws:iam::123456789012:role/ci/deployer"


def variant(stack: str, **cluster_changes: Any) -> StackRun:
    """Run a stack file with parts of nexus:cluster replaced."""
    config = stack_config(stack)
    config["nexus:cluster"] = {**config["nexus:cluster"], **cluster_changes}
    return run_stack(config, stack=stack)


def subnet_ids(run: StackRun, tier: str) -> list[str]:
    subnets = sorted(
        (r for r in run.by_type(SUBNET) if f"-{tier}-" in r.name), key=lambda r: int(r.name.rsplit("-", 1)[1])
    )
    return [str(subnet.id) for subnet in subnets]


def workload_sg_id(run: StackRun) -> str:
    return str(run.one(SG, "network-workload").id)


# --- the control plane ------------------------------------------------------------------------------------


def test_dev_cluster_control_plane(dev_run: StackRun) -> None:
    cluster = dev_run.one(CLUSTER)
    inputs = cluster.inputs
    assert inputs["name"] == "nexus-dev-eks"
    assert inputs["version"] == "1.34"
    assert inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    vpc = inputs["vpcConfig"]
    assert vpc["subnetIds"] == subnet_ids(dev_run, "private")
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert "encryptionConfig" not in inputs
    assert not [key for key in dev_run.by_type(KMS_KEY) if "nexus:cluster:EksCluster" in key.urn]
    assert cluster.protect is False
    assert inputs["deletionProtection"] is False


def test_prod_cluster_is_private_encrypted_protected(prod_run: StackRun) -> None:
    cluster = prod_run.one(CLUSTER)
    inputs = cluster.inputs
    assert inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in inputs["vpcConfig"]
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    key = prod_run.one(KMS_KEY, "cluster-secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is True
    assert inputs["encryptionConfig"] == {
        "resources": ["secrets"],
        "provider": {"keyArn": key.outputs["arn"]},
    }
    assert set(inputs["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    assert cluster.protect is True
    assert inputs["deletionProtection"] is True
    # The cluster waits for the role's KMS grant, its managed policy and the log group.
    names = {dep.rsplit("::", 1)[1] for dep in cluster.dependencies}
    assert {
        "nexus-prod-cluster-cluster-kms",
        "nexus-prod-cluster-cluster-policy",
        "nexus-prod-cluster-logs",
    } <= names


def test_cluster_role_may_use_only_its_key(prod_run: StackRun) -> None:
    key_arn = prod_run.one(KMS_KEY, "cluster-secrets-key").outputs["arn"]
    policy = json.loads(prod_run.one(ROLE_POLICY, "cluster-cluster-kms").inputs["policy"])
    assert {statement["Resource"] for statement in policy["Statement"]} == {key_arn}


def test_control_plane_log_group_is_the_one_eks_writes(prod_run: StackRun) -> None:
    group = prod_run.one("aws:cloudwatch/logGroup:LogGroup", "cluster-logs")
    assert group.inputs["name"] == "/aws/eks/nexus-prod-eks/cluster"
    assert group.inputs["retentionInDays"] == 365  # nexus:cluster.logRetentionDays in Pulumi.prod.yaml


# --- access entries -----------------------------------------------------------------------------------------


def test_one_admin_entry_per_listed_role(prod_run: StackRun) -> None:
    listed = stack_config("prod")["nexus:cluster"]["adminRoleArns"]
    assert [entry.inputs["principalArn"] for entry in prod_run.by_type(ACCESS_ENTRY)] == listed
    assert [policy.inputs["principalArn"] for policy in prod_run.by_type(ACCESS_POLICY)] == listed


def test_admin_roles_get_cluster_scoped_admin_policy() -> None:
    run = variant("prod", adminRoleArns=[ADMIN_A, ADMIN_B])
    entries = {entry.inputs["principalArn"]: entry for entry in run.by_type(ACCESS_ENTRY)}
    assert set(entries) == {ADMIN_A, ADMIN_B}
    for arn, entry in entries.items():
        assert entry.name == f"nexus-prod-cluster-admin-{principal_key(arn)}"
        assert entry.inputs["type"] == "STANDARD"
        assert entry.inputs["clusterName"] == "nexus-prod-eks"
    associations = {a.inputs["principalArn"]: a for a in run.by_type(ACCESS_POLICY)}
    for arn, association in associations.items():
        assert association.inputs["policyArn"] == (
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        )
        assert association.inputs["accessScope"] == {"type": "cluster"}
        assert entries[arn].urn in association.dependencies


def test_adding_an_admin_leaves_the_existing_entry_alone() -> None:
    one = {r.urn: r.inputs for r in variant("prod", adminRoleArns=[ADMIN_A]).by_type(ACCESS_ENTRY)}
    two = {r.urn: r.inputs for r in variant("prod", adminRoleArns=[ADMIN_A, ADMIN_B]).by_type(ACCESS_ENTRY)}
    assert set(one) < set(two)
    for urn, inputs in one.items():
        assert two[urn] == inputs


# --- node groups --------------------------------------------------------------------------------------------


def zone_groups(run: StackRun, group_name: str) -> list[RecordedResource]:
    """The managed node groups of one configured group, in AZ-index order."""
    groups = [
        g for g in run.by_type(NODE_GROUP) if g.name.rsplit("-", 1)[0].endswith(f"cluster-{group_name}")
    ]
    return sorted(groups, key=lambda g: int(g.name.rsplit("-", 1)[1]))


def test_node_group_from_config(prod_run: StackRun) -> None:
    groups = zone_groups(prod_run, "general")
    # One managed node group per AZ, each in its AZ's private subnet (Cluster Autoscaler: one ASG per AZ).
    assert [g.name for g in groups] == [f"nexus-prod-cluster-general-{i}" for i in range(3)]
    assert [g.inputs["subnetIds"] for g in groups] == [[subnet] for subnet in subnet_ids(prod_run, "private")]
    for index, group in enumerate(groups):
        inputs = group.inputs
        assert inputs["clusterName"] == "nexus-prod-eks"
        assert inputs["instanceTypes"] == ["m6i.2xlarge"]
        assert inputs["capacityType"] == "ON_DEMAND"
        assert inputs["amiType"] == "AL2023_x86_64_STANDARD"
        assert inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 1, "maxSize": 5}  # per AZ
        assert inputs["version"] == "1.34"  # the cluster's: a version bump upgrades the nodes too
        assert inputs["nodeGroupNamePrefix"] == f"general-{index}-"
        # Identical labels in every AZ: the autoscaler treats the groups as similar and balances them.
        assert inputs["labels"] == {"nexus.io/node-group": "general"}
        assert inputs["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert inputs["tags"]["k8s.io/cluster-autoscaler/nexus-prod-eks"] == "owned"
        # The Cluster Autoscaler owns the size after creation.
        assert group.ignore_changes == ("scalingConfig.desiredSize",)


def test_the_first_az_keeps_the_old_single_group_urn(prod_run: StackRun) -> None:
    first, *others = zone_groups(prod_run, "general")
    assert [alias["spec"]["name"] for alias in first.record.aliases] == ["nexus-prod-cluster-general"]
    assert all(not group.record.aliases for group in others)


def test_spot_group_with_diversified_types(dev_run: StackRun) -> None:
    inputs = dev_run.one(NODE_GROUP, "cluster-general-1").inputs
    assert inputs["capacityType"] == "SPOT"
    assert inputs["instanceTypes"] == ["t3.xlarge", "m5.xlarge", "m6i.xlarge"]


def test_launch_template_hardens_nodes(prod_run: StackRun) -> None:
    template = prod_run.one(LAUNCH_TEMPLATE, "cluster-general-lt")
    inputs = template.inputs
    assert inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    (disk,) = inputs["blockDeviceMappings"]
    assert disk["ebs"] == {
        "volumeSize": 50,
        "volumeType": "gp3",
        "encrypted": "true",
        "deleteOnTermination": "true",
    }
    cluster_sg = prod_run.one(CLUSTER).outputs["vpcConfig"]["clusterSecurityGroupId"]
    assert inputs["vpcSecurityGroupIds"] == [cluster_sg, workload_sg_id(prod_run)]
    # One template serves the group's node group in every AZ.
    for group in (g.inputs for g in zone_groups(prod_run, "general")):
        assert group["launchTemplate"] == {
            "id": template.id,
            "version": str(template.outputs["latestVersion"]),
        }
        # Disk and SGs live in the template: the group must not set them too (EKS refuses both).
        assert "diskSize" not in group
        assert "remoteAccess" not in group


def two_groups_run() -> StackRun:
    """dev plus a tainted arm64 batch group (and a pinned coredns): one run shared by several tests."""
    groups = {
        "general": stack_config("dev")["nexus:cluster"]["nodeGroups"]["general"],
        "batch": {
            "instanceTypes": ["m7g.xlarge"],
            "minSize": 0,
            "desiredSize": 0,
            "maxSize": 2,
            "labels": {"workload": "batch"},
            "taints": [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}],
        },
    }
    return variant("dev", nodeGroups=groups, addonVersions={"coredns": "v1.12.1-eksbuild.2"})


def test_labels_and_taints_reach_the_group() -> None:
    batches = zone_groups(two_groups_run(), "batch")
    assert len(batches) == 2  # dev's two AZs
    for index, batch in enumerate(b.inputs for b in batches):
        assert batch["labels"] == {"workload": "batch", "nexus.io/node-group": "batch"}
        assert batch["taints"] == [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]
        assert batch["amiType"] == "AL2023_ARM_64_STANDARD"
        assert batch["nodeGroupNamePrefix"] == f"batch-{index}-"


def test_adding_a_node_group_leaves_the_others_alone(dev_run: StackRun) -> None:
    run = two_groups_run()
    before = {r.urn: r.inputs for r in dev_run if "-cluster-general" in r.urn}
    after = {r.urn: r.inputs for r in run if "-cluster-general" in r.urn}
    assert before
    assert before == after


# --- vertical scaling: a new instance type must not collide with the old group's name --------------------


def physical_names_during_replacement(old: RecordedResource, new: RecordedResource) -> list[str | None]:
    """The node group names alive at once while Pulumi replaces ``old`` by ``new`` create-before-delete.

    A fixed ``nodeGroupName`` is used as is by both; without one, the provider generates a fresh unique name
    for the new group (from ``nodeGroupNamePrefix``) when it creates it, so it can never equal the old one:
    modelled here as None (not yet known, and distinct by construction).
    """
    old_name = old.inputs.get("nodeGroupName") or old.outputs.get("nodeGroupName")
    new_name = new.inputs.get("nodeGroupName")  # a generated name does not exist until create
    return [old_name, new_name]


def collides(old: RecordedResource, new: RecordedResource) -> bool:
    """Whether replacing ``old`` by ``new`` would try to create a node group whose name is taken."""
    old_name, new_name = physical_names_during_replacement(old, new)
    create_first = not new.record.delete_before_replace
    return create_first and new_name is not None and new_name == old_name


def test_changing_instance_types_replaces_without_a_name_collision(prod_run: StackRun) -> None:
    groups = copy.deepcopy(stack_config("prod")["nexus:cluster"]["nodeGroups"])
    groups["general"]["instanceTypes"] = ["m6i.4xlarge"]
    bigger = variant("prod", nodeGroups=groups)

    # Same resources (same URNs): the engine diffs the group in place and, instanceTypes being a
    # replace-only property of aws_eks_node_group, plans a replacement of that one resource.
    assert {r.urn for r in bigger} == {r.urn for r in prod_run}
    changed = sorted(r.urn for r in bigger if r.inputs != prod_run.get(r.urn).inputs)
    olds = zone_groups(prod_run, "general")
    assert changed == sorted(g.urn for g in olds)  # the group's node group in every AZ, nothing else
    for old in olds:
        new = bigger.get(old.urn)
        assert {k for k in new.inputs if new.inputs[k] != old.inputs.get(k)} == {"instanceTypes"}
        # Each is auto-named and replaced create-before-delete: no two live groups share a name.
        assert "nodeGroupName" not in new.inputs
        assert not new.record.delete_before_replace
        assert old.outputs["nodeGroupName"].startswith(new.inputs["nodeGroupNamePrefix"])
        assert not collides(old, new)


def test_the_collision_check_catches_a_fixed_name(prod_run: StackRun) -> None:
    # The negative control: the same replacement with a fixed name would collide.
    old = prod_run.one(NODE_GROUP, "cluster-general-0")
    fixed_inputs = {**old.inputs, "nodeGroupName": "general"}
    fixed_old = RecordedResource(
        record=old.record,
        inputs=fixed_inputs,
        secret_inputs=frozenset(),
        outputs=old.outputs,
        secret_outputs=frozenset(),
    )
    fixed_new = RecordedResource(
        record=old.record,
        inputs={**fixed_inputs, "instanceTypes": ["m6i.4xlarge"]},
        secret_inputs=frozenset(),
        outputs=old.outputs,
        secret_outputs=frozenset(),
    )
    assert collides(fixed_old, fixed_new)


# --- add-ons ------------------------------------------------------------------------------------------------


def test_addons_and_their_order(prod_run: StackRun) -> None:
    # The cluster's own add-ons (the pod logs add-on is infra/pod_logs.py's, tested in test_hardening).
    addons = {
        addon.inputs["addonName"]: addon
        for addon in prod_run.by_type(ADDON)
        if "nexus:cluster:EksCluster" in addon.urn
    }
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "metrics-server"}
    group = prod_run.one(NODE_GROUP, "cluster-general-2")
    for name, addon in addons.items():
        assert addon.inputs["clusterName"] == "nexus-prod-eks"
        assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE"
        assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
        # Every add-on carries a version, so that it follows nexus:cluster.version (test below).
        assert addon.inputs["addonVersion"].startswith("v"), name
        after_nodes = group.urn in addon.dependencies
        assert after_nodes == (name in ("coredns", "metrics-server")), name
    # The node groups wait for the CNI, kube-proxy and the Pod Identity agent.
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[name].urn in group.dependencies


def test_pinned_addon_version_is_used() -> None:
    addons = {addon.inputs["addonName"]: addon.inputs for addon in two_groups_run().by_type(ADDON)}
    assert addons["coredns"]["addonVersion"] == "v1.12.1-eksbuild.2"
    # Not pinned: the reviewed row for 1.34 (infra/eks/addons.py, whose sources the module names).
    assert addons["vpc-cni"]["addonVersion"] == "v1.22.4-eksbuild.3"


def _versions(run: StackRun) -> tuple[set[str], dict[str, str]]:
    groups = {group.inputs["version"] for group in run.by_type(NODE_GROUP)}
    addons = {addon.inputs["addonName"]: addon.inputs["addonVersion"] for addon in run.by_type(ADDON)}
    return groups, addons


def test_bumping_the_cluster_version_moves_node_groups_and_addons(dev_run: StackRun) -> None:
    # Downgrade the dev stack by one minor (as if it still ran 1.33), then compare with the real 1.34 run:
    # every node group and every add-on must change with the control plane.
    older = variant("dev", version="1.33", autoscaler={"chartVersion": "9.47.0", "imageTag": "v1.33.1"})
    assert older.one(CLUSTER).inputs["version"] == "1.33"
    old_groups, old_addons = _versions(older)
    new_groups, new_addons = _versions(dev_run)
    assert old_groups == {"1.33"}
    assert new_groups == {"1.34"}
    assert old_addons["kube-proxy"] == "v1.33.10-eksbuild.21"
    assert new_addons["kube-proxy"] == "v1.34.6-eksbuild.21"
    moved = {name for name in new_addons if old_addons[name] != new_addons[name]}
    # vpc-cni and coredns have the same reviewed build for 1.33 and 1.34; the others move.
    assert moved == {"kube-proxy", "eks-pod-identity-agent", "metrics-server"}


def test_a_minor_without_reviewed_addon_versions_is_refused() -> None:
    config = stack_config("dev")
    config["nexus:cluster"] = {
        **config["nexus:cluster"],
        "version": "1.36",
        "autoscaler": {"chartVersion": "9.55.0", "imageTag": "v1.36.0"},
    }
    problems = config_problems(config, stack="dev")
    assert any(
        line.startswith("nexus:cluster.addonVersions: Kubernetes 1.36 has no reviewed versions of vpc-cni, ")
        for line in problems
    ), problems
    pinned = {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "kube-proxy": "v1.36.0-eksbuild.1",
        "coredns": "v1.14.3-eksbuild.1",
    }
    config["nexus:cluster"]["addonVersions"] = pinned
    run = run_stack(config, stack="dev")
    assert _versions(run)[1]["kube-proxy"] == "v1.36.0-eksbuild.1"


# --- the Kubernetes provider and the kubeconfig ------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_kubernetes_provider_uses_an_exec_token(stack: str) -> None:
    run = run_stack(stack)
    cluster = run.one(CLUSTER)
    provider = run.one(K8S_PROVIDER, "cluster-k8s")
    assert provider.secret_input("kubeconfig")
    assert provider.inputs["enableServerSideApply"] in (True, "true")
    config = json.loads(provider.inputs["kubeconfig"])
    assert config == json.loads(
        kubeconfig(
            f"nexus-{stack}-eks",
            cluster.outputs["endpoint"],
            cluster.outputs["certificateAuthority"]["data"],
            "us-east-1",
        )
    )
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate, no password
    assert user["user"]["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        f"nexus-{stack}-eks",
        "--region",
        "us-east-1",
    ]
    # Exported, but only as a secret.
    assert "kubeconfig" in run.secret_outputs
    assert json.loads(run.outputs["kubeconfig"]) == config
    assert run.outputs["clusterName"] == f"nexus-{stack}-eks"


# --- Cluster Autoscaler -------------------------------------------------------------------------------------


def _role_for(run: StackRun, component: str) -> tuple[dict[str, Any], dict[str, Any]]:
    role = run.one(ROLE, f"{component}-role")
    policy = run.one(ROLE_POLICY, f"{component}-policy")
    assert policy.inputs["role"] == role.id
    return json.loads(role.inputs["assumeRolePolicy"]), json.loads(policy.inputs["policy"])


def test_autoscaler_release(prod_run: StackRun) -> None:
    release = prod_run.one(RELEASE, "autoscaler-release")
    inputs = release.inputs
    assert inputs["chart"] == "cluster-autoscaler"
    assert inputs["version"] == "9.53.0"
    assert inputs["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    assert inputs["namespace"] == "kube-system"
    values = inputs["values"]
    assert values["autoDiscovery"] == {"clusterName": "nexus-prod-eks"}
    assert values["awsRegion"] == "us-east-1"
    assert values["image"]["tag"] == "v1.34.2"
    assert values["rbac"]["serviceAccount"] == {"create": True, "name": "cluster-autoscaler"}
    assert values["resources"]["requests"] == {"cpu": "100m", "memory": "300Mi"}
    assert release.provider is not None
    assert release.provider.split("::")[-1].startswith("nexus-prod-cluster-k8s")
    deps = set(release.dependencies)
    assert {g.urn for g in zone_groups(prod_run, "general")} <= set(deps)
    assert prod_run.one(POD_IDENTITY, "autoscaler-identity").urn in deps
    assert prod_run.one(ADDON, "cluster-eks-pod-identity-agent").urn in deps


def test_autoscaler_identity_and_policy(prod_run: StackRun) -> None:
    association = prod_run.one(POD_IDENTITY, "autoscaler-identity").inputs
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    trust, policy = _role_for(prod_run, "autoscaler")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == (
        "cluster-autoscaler"
    )
    assert policy == autoscaler_policy("nexus-prod-eks", "us-east-1", "123456789012")
    writes = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert writes == [
        {
            "Sid": "ScaleOwnNodeGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/nexus-prod-eks": "owned"}
            },
        }
    ]
    for statement in policy["Statement"]:
        if statement["Resource"] == "*" and "Condition" not in statement:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(":Describe" in a or ":Get" in a for a in actions), actions


# --- AWS Load Balancer Controller --------------------------------------------------------------------------


def test_lb_controller_policy_is_the_file_in_the_repository(prod_run: StackRun) -> None:
    _, policy = _role_for(prod_run, "lb-controller")
    assert policy == controller_policy()
    # Golden file: its canonical form is what is committed (a diff shows a reviewer every permission change).
    assert POLICY_FILE.read_text() == json.dumps(controller_policy(), indent=2) + "\n"


def test_lb_controller_policy_only_reads_and_registers_in_bound_groups() -> None:
    for statement in controller_policy()["Statement"]:
        actions = statement["Action"]
        assert "*" not in actions
        if statement["Resource"] == "*":
            assert all(":Describe" in a or ":Get" in a for a in actions), actions
        else:
            assert set(actions) == {
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            }
            assert statement["Condition"] == {
                "StringEquals": {"aws:ResourceTag/nexus.io/target-group-binding": "enabled"}
            }


def test_lb_controller_release(dev_run: StackRun) -> None:
    release = dev_run.one(RELEASE, "lb-controller-release")
    inputs = release.inputs
    assert inputs["chart"] == "aws-load-balancer-controller"
    assert inputs["version"] == "1.14.0"
    assert inputs["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    values = inputs["values"]
    assert values["clusterName"] == "nexus-dev-eks"
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == dev_run.one("aws:ec2/vpc:Vpc").id
    assert values["enableServiceMutatorWebhook"] is False
    assert values["createIngressClassResource"] is False
    assert values["replicaCount"] == 2
    association = dev_run.one(POD_IDENTITY, "lb-controller-identity").inputs
    assert association["serviceAccount"] == values["serviceAccount"]["name"] == "aws-load-balancer-controller"


def test_lb_controller_crds_follow_the_chart_version(dev_run: StackRun) -> None:
    release = dev_run.one(RELEASE, "lb-controller-release")
    crds = dev_run.one("kubernetes:yaml/v2:ConfigFile", "lb-controller-crds")
    # Chart 1.14.0 ships controller v2.14.0 (its Chart.yaml); the CRDs are read at that tag, not Helm's.
    assert crds.inputs["file"] == (
        "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v2.14.0/"
        "helm/aws-load-balancer-controller/crds/crds.yaml"
    )
    assert release.inputs["skipCrds"] is True
    assert crds.urn in release.dependencies
    assert crds.provider == release.provider or crds.record.providers.get("kubernetes") == release.provider


def test_an_lb_controller_chart_without_a_crd_source_is_refused() -> None:
    config = stack_config("dev")
    config["nexus:cluster"] = {
        **config["nexus:cluster"],
        "loadBalancerController": {"chartVersion": "1.15.0"},
    }
    problems = config_problems(config, stack="dev")
    assert any(
        line.startswith(
            "nexus:cluster.loadBalancerController.chartVersion: no CRD source known for chart 1.15.0"
        )
        for line in problems
    ), problems


# --- policy rules of this part: they hold on the stacks (test_policy.py) and each can fail ----------------


def _broken(run: StackRun, type_: str, **input_changes: Any) -> list[PolicyResource]:
    resources = from_records(run)
    target = next(r for r in resources if r.type == type_)
    changed = dataclasses.replace(target, inputs={**target.inputs, **input_changes})
    return [changed if r is target else r for r in resources]


def _rule_violations(name: str, resources: list[PolicyResource]) -> list[str]:
    rule = next(rule for rule in RULES if rule.name == name)
    return [violation.message for violation in check_rule(rule, resources)]


def test_rule_eks_endpoint_fails_on_a_world_open_or_default_endpoint(dev_run: StackRun) -> None:
    vpc = dev_run.one(CLUSTER).inputs["vpcConfig"]
    assert not _rule_violations("eks-endpoint-private", from_records(dev_run))
    world = _broken(dev_run, CLUSTER, vpcConfig={**vpc, "publicAccessCidrs": ["0.0.0.0/0"]})
    assert _rule_violations("eks-endpoint-private", world)
    defaulted = {k: v for k, v in vpc.items() if k not in ("publicAccessCidrs", "endpointPublicAccess")}
    assert _rule_violations("eks-endpoint-private", _broken(dev_run, CLUSTER, vpcConfig=defaulted))
    no_private = _broken(dev_run, CLUSTER, vpcConfig={**vpc, "endpointPrivateAccess": False})
    assert _rule_violations("eks-endpoint-private", no_private)


def test_rule_prod_secrets_encryption_fails_without_a_key(prod_run: StackRun, dev_run: StackRun) -> None:
    assert _rule_violations(
        "eks-secrets-encrypted-in-prod", _broken(prod_run, CLUSTER, encryptionConfig=None)
    )
    # dev has none and is not prod: no violation.
    assert not _rule_violations("eks-secrets-encrypted-in-prod", from_records(dev_run))


def test_rule_imdsv2_fails_on_optional_tokens_or_two_hops(prod_run: StackRun) -> None:
    metadata = prod_run.one(LAUNCH_TEMPLATE).inputs["metadataOptions"]
    for broken in ({**metadata, "httpTokens": "optional"}, {**metadata, "httpPutResponseHopLimit": 2}, {}):
        assert _rule_violations("imdsv2-required", _broken(prod_run, LAUNCH_TEMPLATE, metadataOptions=broken))


def test_rule_alb_headers_fails_in_prod_only(prod_run: StackRun, dev_run: StackRun) -> None:
    lb = "aws:lb/loadBalancer:LoadBalancer"
    assert _rule_violations(
        "alb-drops-invalid-headers-in-prod", _broken(prod_run, lb, dropInvalidHeaderFields=False)
    )
    assert not _rule_violations(
        "alb-drops-invalid-headers-in-prod", _broken(dev_run, lb, dropInvalidHeaderFields=False)
    )


def test_rule_node_groups_auto_named_fails_on_a_fixed_name(prod_run: StackRun) -> None:
    # A fixed name comes without the prefix (the provider refuses both).
    fixed = _broken(prod_run, NODE_GROUP, nodeGroupName="general", nodeGroupNamePrefix=None)
    assert _rule_violations("node-groups-auto-named", fixed)


def test_rule_no_star_on_star_fails_on_an_admin_statement(prod_run: StackRun) -> None:
    admin = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    assert _rule_violations("iam-no-star-on-star", _broken(prod_run, ROLE_POLICY, policy=admin))
    scoped = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    assert not _rule_violations("iam-no-star-on-star", _broken(prod_run, ROLE_POLICY, policy=scoped))


def test_capacity_checks_assume_the_deployments_real_surge(prod_run: StackRun) -> None:
    # stacks.config.cluster counts ROLLOUT_SURGE extra pods at full scale: it must be what the pods roll with.
    deployments = prod_run.by_type("kubernetes:apps/v1:Deployment")
    assert {d.inputs["metadata"]["name"] for d in deployments} >= {"api", "worker"}
    for deployment in deployments:
        rolling = deployment.inputs["spec"]["strategy"]["rollingUpdate"]
        assert rolling == {"maxUnavailable": 0, "maxSurge": f"{round(ROLLOUT_SURGE * 100)}%"}


def test_vpc_cni_gets_its_network_policy_agent(prod_run: StackRun) -> None:
    cni = next(a for a in prod_run.by_type(ADDON) if a.inputs["addonName"] == "vpc-cni")
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    others = [a for a in prod_run.by_type(ADDON) if a.inputs["addonName"] != "vpc-cni"]
    assert all("configurationValues" not in a.inputs for a in others)


def test_a_vpc_cni_too_old_for_network_policies_is_refused() -> None:
    config = stack_config("dev")
    config["nexus:cluster"] = {**config["nexus:cluster"], "addonVersions": {"vpc-cni": "v1.13.4-eksbuild.1"}}
    problems = config_problems(config, stack="dev")
    assert any(
        line.startswith("nexus:cluster.addonVersions: vpc-cni v1.13.4-eksbuild.1 cannot enforce")
        for line in problems
    ), problems
