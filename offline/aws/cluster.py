"""EKS (cluster, node groups, add-ons, access entries, pod identity; the subnets EKS accepts) and ECR."""

from __future__ import annotations

import json
from typing import Any

from .. import zones
from ..cloud import DNS_SUFFIX, AutoName, Ctx, Emulation, register
from .common import NAME, NAME_LOWER, by, get


def _subnet_zones(ctx: Ctx, subnet_ids: Any) -> list[zones.Zone]:
    found = []
    for subnet_id in subnet_ids or []:
        state = ctx.find(str(subnet_id))
        zone = zones.by_id(ctx.region, str(state.get("availabilityZoneId"))) if state else None
        if zone is not None:
            found.append(zone)
    return found


def _eks_cluster_subnets(ctx: Ctx) -> str | None:
    """EKS CreateCluster's subnet rules (EKS user guide: network-reqs.html, "Subnet requirements";
    local-zones.html).

    - Subnets in at least two AZs (InvalidParameterException).
    - No subnet in an AZ where EKS does not run control-plane ENIs (use1-az3, usw1-az2, cac1-az3), and none in
      a Local Zone: "you must not specify Local Zone subnets when you create your cluster"
      (UnsupportedAvailabilityZoneException, which lists the valid zones).
    """
    vpc = ctx.get("vpcConfig") or {}
    found = _subnet_zones(ctx, vpc.get("subnetIds"))
    refused = sorted(
        {
            z.zone_id
            for z in found
            if z.zone_id in zones.EKS_UNSUPPORTED_ZONE_IDS or z.zone_type != "availability-zone"
        }
    )
    if refused:
        valid = sorted(
            z.name
            for z in zones.zones(ctx.region)
            if z.zone_type == "availability-zone" and z.zone_id not in zones.EKS_UNSUPPORTED_ZONE_IDS
        )
        return (
            f"UnsupportedAvailabilityZoneException: subnets in {', '.join(refused)}, where EKS cannot create "
            f"the cluster's control-plane interfaces; valid zones: {', '.join(valid)}"
        )
    if found and len({z.zone_id for z in found}) < 2:
        return "InvalidParameterException: EKS needs subnets in at least two Availability Zones"
    return None


def _node_group_subnets(ctx: Ctx) -> str | None:
    # "Amazon EKS does not support creating managed node groups in AWS Local Zones" (EKS user guide,
    # local-zones.html).
    local = sorted({z.name for z in _subnet_zones(ctx, ctx.get("subnetIds")) if z.zone_type == "local-zone"})
    if local:
        return (
            f"InvalidParameterException: managed node groups cannot run in Local Zones ({', '.join(local)})"
        )
    return None


def _eks_cluster(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    oidc_id = ctx.hex(32, "oidc").upper()
    vpc_config = dict(ctx.get("vpcConfig") or {})
    vpc_config.setdefault("vpcId", f"vpc-{ctx.hex(17, 'vpc')}")
    vpc_config["clusterSecurityGroupId"] = f"sg-{ctx.hex(17, 'cluster-sg')}"
    pem = "-----BEGIN CERTIFICATE-----\n" + ctx.b64(ctx.hex(64, "ca")) + "\n-----END CERTIFICATE-----\n"
    return {
        "arn": ctx.arn("eks", f"cluster/{name}"),
        "endpoint": f"https://{ctx.hex(32, 'endpoint').upper()}.gr7.{ctx.region}.eks.{DNS_SUFFIX}",
        "certificateAuthority": {"data": ctx.b64(pem)},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.{DNS_SUFFIX}/id/{oidc_id}"}]}],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "version": ctx.get("version") or "1.33",
        "clusterId": ctx.uuid("cluster-id"),
        "createdAt": "2024-01-01T00:00:00Z",
    }


def _node_group(ctx: Ctx) -> dict[str, Any]:
    cluster, group = ctx.get("clusterName"), ctx.get("nodeGroupName")
    uid = ctx.uuid("nodegroup")
    return {
        "arn": ctx.arn("eks", f"nodegroup/{cluster}/{group}/{uid}"),
        "resources": [
            {"autoscalingGroups": [{"name": f"eks-{group}-{uid}"}], "remoteAccessSecurityGroupId": ""}
        ],
        "status": "ACTIVE",
        "version": ctx.get("version") or "1.33",
        "releaseVersion": ctx.get("releaseVersion") or "1.33.0-20250101",
        "capacityType": ctx.get("capacityType") or "ON_DEMAND",
    }


def _addon(ctx: Ctx) -> dict[str, Any]:
    cluster, addon = ctx.get("clusterName"), ctx.get("addonName")
    return {
        "arn": ctx.arn("eks", f"addon/{cluster}/{addon}/{ctx.uuid('addon')}"),
        "addonVersion": ctx.get("addonVersion") or "v1.0.0-eksbuild.1",
    }


def _addon_configuration(ctx: Ctx) -> str | None:
    """EKS's check of ``configurationValues``: one JSON object matching the add-on's configuration schema.

    pulumi-aws ``eks/addon.py`` (configuration_values): "single JSON string. This JSON string value must match
    the JSON schema derived from describe-addon-configuration"; EKS answers InvalidParameterException. Of the
    schemas, the one rule encoded is vpc-cni's ``enableNetworkPolicy``: a string, "true" or "false" (EKS user
    guide, cni-network-policy-configure.html, sets it as {"enableNetworkPolicy": "true"}); a JSON boolean is
    refused.
    """
    raw = ctx.get("configurationValues")
    if raw in (None, ""):
        return None
    try:
        values = json.loads(str(raw))
    except ValueError as exc:
        return f"configurationValues is not JSON ({exc}); EKS answers InvalidParameterException"
    if not isinstance(values, dict):
        return "configurationValues must be a JSON object; EKS answers InvalidParameterException"
    flag = values.get("enableNetworkPolicy", "true")
    if ctx.get("addonName") == "vpc-cni" and flag not in ("true", "false"):
        return (
            f"vpc-cni configurationValues.enableNetworkPolicy is {flag!r}; the add-on's schema takes the "
            'string "true" or "false" (InvalidParameterException)'
        )
    return None


def _access_entry(ctx: Ctx) -> dict[str, Any]:
    cluster = ctx.get("clusterName")
    return {
        "accessEntryArn": ctx.arn("eks", f"access-entry/{cluster}/role/{ctx.account}/{ctx.uuid('entry')}"),
        "type": ctx.get("type") or "STANDARD",
        "userName": ctx.get("userName") or str(ctx.get("principalArn")),
        "kubernetesGroups": ctx.get("kubernetesGroups") or [],
    }


def _pod_identity(ctx: Ctx) -> dict[str, Any]:
    association = f"a-{ctx.chars(17, salt='assoc')}"
    return {
        "associationId": association,
        "associationArn": ctx.arn("eks", f"podidentityassociation/{ctx.get('clusterName')}/{association}"),
    }


def _ecr_repository(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    return {
        "arn": ctx.arn("ecr", f"repository/{name}"),
        "registryId": ctx.account,
        "repositoryUrl": f"{ctx.account}.dkr.ecr.{ctx.region}.{DNS_SUFFIX}/{name}",
    }


register(
    # ECR
    Emulation(
        type="aws:ecr/repository:Repository",
        id=get("name"),
        autonames=(NAME_LOWER,),
        compute=_ecr_repository,
    ),
    Emulation(
        type="aws:ecr/lifecyclePolicy:LifecyclePolicy",
        id=get("repository"),
        compute=lambda ctx: {"registryId": ctx.account},
    ),
    # EKS
    Emulation(
        type="aws:eks/cluster:Cluster",
        id=get("name"),
        autonames=(NAME,),
        compute=_eks_cluster,
        checks=(_eks_cluster_subnets,),
    ),
    Emulation(
        type="aws:eks/nodeGroup:NodeGroup",
        id=by("clusterName", "nodeGroupName"),
        autonames=(AutoName("nodeGroupName", prefix_prop="nodeGroupNamePrefix"),),
        compute=_node_group,
        checks=(_node_group_subnets,),
    ),
    Emulation(
        type="aws:eks/addon:Addon",
        id=by("clusterName", "addonName"),
        compute=_addon,
        checks=(_addon_configuration,),
    ),
    Emulation(
        type="aws:eks/accessEntry:AccessEntry", id=by("clusterName", "principalArn"), compute=_access_entry
    ),
    Emulation(
        type="aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        id=by("clusterName", "principalArn", "policyArn", sep="#"),
        compute=lambda ctx: {"associatedAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"},
    ),
    Emulation(
        type="aws:eks/podIdentityAssociation:PodIdentityAssociation",
        id=lambda ctx: f"{ctx.get('clusterName')},{ctx.state['associationId']}",
        compute=_pod_identity,
    ),
)
