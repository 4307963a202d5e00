"""What AWS computes for the resource types this project uses (pulumi-aws 7.x token names).

Ids, ARNs and endpoints follow the shapes AWS returns, so that code reading them (an endpoint split into host
and port, an ARN parsed for its suffix, an OIDC issuer stripped of ``https://``) runs as it would in AWS.

Why one long module: it is a table, one ``Emulation`` per resource type with the few lines that
compute its outputs, read by type token rather than top to bottom; the helpers (ARN and id shapes, auto-names,
RDS identifier rules) are shared across services. A split by service (network, data stores, cluster and IAM,
edge) is the next cut now that issue 14's branches, which added engine rules next to their resource
types here, have landed; it was not made while they were open so that none had to move its rules twice.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import zones
from .cloud import DNS_SUFFIX, AutoName, Ctx, Emulation, register

# Hosted zone ids AWS publishes for us-east-1 (ALB, S3, RDS); other regions use the same shapes.
_ALB_ZONE = "Z35SXDOTRQ7X7K"
_NLB_ZONE = "Z26RNL4JYFTOTI"
_S3_ZONE = "Z3AQBSTGFYJSTF"
_RDS_ZONE = "Z2R2ITUGPM61AM"

_REGION_SHORT = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "eu-west-1": "euw1",
    "eu-central-1": "euc1",
    "ap-southeast-1": "apse1",
}


def _ec2(prefix: str, kind: str | None = None) -> tuple[Any, Any]:
    """An EC2-style id (``<prefix>-<17 hex>``) and its ARN ``arn:...:ec2:...:<kind>/<id>``."""

    def make_id(ctx: Ctx) -> str:
        return f"{prefix}-{ctx.hex(17, 'id')}"

    def compute(ctx: Ctx) -> dict[str, Any]:
        out: dict[str, Any] = {"ownerId": ctx.account}
        if kind is not None:
            out["arn"] = ctx.arn("ec2", f"{kind}/{make_id(ctx)}")
        return out

    return make_id, compute


def _simple_ec2(type_: str, prefix: str, kind: str | None, **extra: Any) -> Emulation:
    make_id, compute = _ec2(prefix, kind)
    compute = extra.pop("compute", compute)
    return Emulation(type=type_, id=make_id, compute=compute, **extra)


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


def _log_group(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn("logs", f"log-group:{ctx.get('name')}")}


def _iam_role(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"role{path}{ctx.get('name')}", region=False),
        "uniqueId": "AROA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "unique"),
        "createDate": "2024-01-01T00:00:00Z",
        "path": path,
    }


def _iam_policy(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"policy{path}{ctx.get('name')}", region=False),
        "policyId": "ANPA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "policy"),
        "path": path,
    }


def _instance_profile(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"instance-profile{path}{ctx.get('name')}", region=False),
        "uniqueId": "AIPA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "unique"),
    }


def _oidc_provider(ctx: Ctx) -> dict[str, Any]:
    url = str(ctx.get("url", "")).removeprefix("https://")
    return {"arn": ctx.arn("iam", f"oidc-provider/{url}", region=False)}


def _rds_instance(ctx: Ctx) -> dict[str, Any]:
    identifier = ctx.get("identifier")
    # A replica takes its engine from its source (RDS copies it); the default only serves bare test inputs.
    engine = str(_rds_engine(ctx) or "postgres")
    port = ctx.get("port") or (3306 if "mysql" in engine or "maria" in engine else 5432)
    address = f"{identifier}.{ctx.chars(12, salt='cluster-id')}.{ctx.region}.rds.{DNS_SUFFIX}"
    resource_id = "db-" + ctx.chars(26, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "resource-id")
    out: dict[str, Any] = {
        "arn": ctx.arn("rds", f"db:{identifier}"),
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "hostedZoneId": _RDS_ZONE,
        "resourceId": resource_id,
        "engine": engine,
        "status": "available",
        "engineVersionActual": f"{ctx.get('engineVersion') or '16'}.4",
        "availabilityZone": ctx.get("availabilityZone") or f"{ctx.region}a",
        "caCertIdentifier": ctx.get("caCertIdentifier") or "rds-ca-rsa2048-g1",
        "listenerEndpoints": [],
    }
    if ctx.get("manageMasterUserPassword"):
        secret = f"rds!db-{ctx.uuid('master-secret')}"
        out["masterUserSecrets"] = [
            {
                "secretArn": ctx.arn("secretsmanager", f"secret:{secret}-{ctx.chars(6, salt='sfx')}"),
                "secretStatus": "active",
                "kmsKeyId": ctx.arn("kms", f"key/{ctx.uuid('kms')}"),
            }
        ]
    return out


def _rds_proxy(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    proxy_id = "prx-" + ctx.hex(17, "proxy-id")
    return {
        "arn": ctx.arn("rds", f"db-proxy:{proxy_id}"),
        "endpoint": f"{name}.proxy-{ctx.chars(12, salt='cluster-id')}.{ctx.region}.rds.{DNS_SUFFIX}",
    }


def _proxy_target_group(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn("rds", f"target-group:prx-tg-{ctx.hex(17, 'tg')}"), "name": "default"}


def _proxy_target(ctx: Ctx) -> dict[str, Any]:
    identifier = ctx.get("dbInstanceIdentifier") or ctx.get("dbClusterIdentifier")
    return {
        "endpoint": f"{identifier}.{ctx.chars(12, salt='cluster-id')}.{ctx.region}.rds.{DNS_SUFFIX}",
        "port": 5432,
        "rdsResourceId": identifier,
        "targetArn": ctx.arn("rds", f"db:{identifier}"),
        "type": "RDS_INSTANCE" if ctx.get("dbInstanceIdentifier") else "TRACKED_CLUSTER",
        "trackedClusterId": "",
    }


def _proxy_target_id(ctx: Ctx) -> str:
    kind = "RDS_INSTANCE" if ctx.get("dbInstanceIdentifier") else "TRACKED_CLUSTER"
    identifier = ctx.get("dbInstanceIdentifier") or ctx.get("dbClusterIdentifier")
    return f"{ctx.get('dbProxyName')}/{ctx.get('targetGroupName', 'default')}/{kind}/{identifier}"


def _proxy_endpoint(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("dbProxyEndpointName")
    return {
        "arn": ctx.arn("rds", f"db-proxy-endpoint:prx-endpoint-{ctx.hex(17, 'id')}"),
        "endpoint": f"{name}.endpoint.proxy-{ctx.chars(12, salt='cluster-id')}.{ctx.region}.rds.{DNS_SUFFIX}",
        "isDefault": False,
        "vpcId": f"vpc-{ctx.hex(17, 'vpc')}",
    }


def _named_arn(service: str, kind: str, sep: str = ":") -> Any:
    def compute(ctx: Ctx) -> dict[str, Any]:
        return {"arn": ctx.arn(service, f"{kind}{sep}{ctx.get('name')}")}

    return compute


def _secret(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn("secretsmanager", f"secret:{ctx.get('name')}-{ctx.chars(6, salt='suffix')}")}


def _secret_version(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.get("secretId"), "versionId": ctx.uuid("version"), "versionStages": ["AWSCURRENT"]}


def _kms_key(ctx: Ctx) -> dict[str, Any]:
    key_id = ctx.uuid("key")
    return {"arn": ctx.arn("kms", f"key/{key_id}"), "keyId": key_id}


def _kms_alias(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn("kms", str(ctx.get("name"))),
        "targetKeyArn": ctx.arn("kms", f"key/{ctx.get('targetKeyId')}"),
    }


def _replication_group(ctx: Ctx) -> dict[str, Any]:
    group_id = ctx.get("replicationGroupId")
    zone = f"{ctx.chars(6, salt='cache-zone')}.{_REGION_SHORT.get(ctx.region, 'use1')}.cache.{DNS_SUFFIX}"
    clusters = int(ctx.get("numCacheClusters") or 1)
    out: dict[str, Any] = {
        "arn": ctx.arn("elasticache", f"replicationgroup:{group_id}"),
        "port": ctx.get("port") or 6379,
        "memberClusters": [f"{group_id}-{index:03d}" for index in range(1, clusters + 1)],
        "engineVersionActual": f"{ctx.get('engineVersion') or '7.1'}.0",
        "clusterEnabled": bool(ctx.get("numNodeGroups")),
    }
    if ctx.get("numNodeGroups"):
        out["configurationEndpointAddress"] = f"clustercfg.{group_id}.{zone}"
    else:
        out["primaryEndpointAddress"] = f"master.{group_id}.{zone}"
        out["readerEndpointAddress"] = f"replica.{group_id}.{zone}"
    return out


def _bucket(ctx: Ctx) -> dict[str, Any]:
    bucket = ctx.get("bucket")
    return {
        "arn": f"arn:{ctx.partition}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.{DNS_SUFFIX}",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.{DNS_SUFFIX}",
        "hostedZoneId": _S3_ZONE,
        "region": ctx.get("region") or ctx.region,
    }


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


def _load_balancer(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    kind = ctx.get("loadBalancerType") or "application"
    suffix = f"{'app' if kind == 'application' else 'net'}/{name}/{ctx.hex(16, 'lb')}"
    internal = "internal-" if ctx.get("internal") else ""
    return {
        "arn": ctx.arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
        "arnSuffix": suffix,
        "dnsName": f"{internal}{name}-{ctx.digits(10, 'dns')}.{ctx.region}.elb.{DNS_SUFFIX}",
        "zoneId": _ALB_ZONE if kind == "application" else _NLB_ZONE,
        "loadBalancerType": kind,
        "vpcId": f"vpc-{ctx.hex(17, 'vpc')}",
    }


def _target_group(ctx: Ctx) -> dict[str, Any]:
    suffix = f"targetgroup/{ctx.get('name')}/{ctx.hex(16, 'tg')}"
    return {"arn": ctx.arn("elasticloadbalancing", suffix), "arnSuffix": suffix, "loadBalancerArns": []}


def _listener(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn("elasticloadbalancing", f"listener/app/lb/{ctx.hex(16, 'lb')}/{ctx.hex(16, 'id')}")
    }


def _listener_rule(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn(
            "elasticloadbalancing", f"listener-rule/app/lb/{ctx.hex(16, 'lb')}/{ctx.hex(16, 'id')}"
        )
    }


def _certificate(ctx: Ctx) -> dict[str, Any]:
    domains = [ctx.get("domainName"), *(ctx.get("subjectAlternativeNames") or [])]
    return {
        "arn": ctx.arn("acm", f"certificate/{ctx.uuid('cert')}"),
        "status": "PENDING_VALIDATION" if ctx.get("validationMethod") == "DNS" else "ISSUED",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{ctx.hex(32, f'dvo-{domain}')}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{ctx.hex(32, f'dvo-value-{domain}')}.acm-validations.aws.",
            }
            for domain in domains
            if domain
        ],
    }


def _zone(ctx: Ctx) -> dict[str, Any]:
    zone_id = "Z" + ctx.chars(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "zone")
    return {
        "zoneId": zone_id,
        "arn": f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{index}.awsdns-{index:02d}.org" for index in range(1, 5)],
    }


_RDS_IDENTIFIER = re.compile(r"^[a-z][0-9a-z-]*$")
_RDS_SUBNET_GROUP = re.compile(r"^[ .0-9a-z_-]+$")


def _rds_identifier(prop: str) -> Any:
    """The provider's check of RDS identifiers (instances, proxies, parameter groups)."""

    def check(ctx: Ctx) -> str | None:
        value = str(ctx.get(prop) or "")
        if _RDS_IDENTIFIER.match(value) and "--" not in value and not value.endswith("-"):
            return None
        return (
            f"{prop} {value!r} is refused by the provider: only lowercase letters, digits and hyphens, "
            "starting with a letter, no '--' and no trailing '-' (an auto-name keeps the logical name's case)"
        )

    return check


# --- RDS: what CreateDBInstance / CreateDBInstanceReadReplica refuse ----------------------------------------

_RDS_INSTANCE = "aws:rds/instance:Instance"

# Instance classes on which RDS refuses Performance Insights, per engine. Source: Amazon RDS User Guide,
# "Amazon RDS DB engine, Region, and instance class support for Performance Insights"
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Overview.Engines.html, and the
# same table under USER_DatabaseInsights.Engines.html): RDS for MariaDB and RDS for MySQL list db.t2, db.t3
# and db.t4g micro and small; RDS for PostgreSQL, SQL Server and Oracle list no class restriction ("N/A").
_PI_UNSUPPORTED_CLASSES: dict[str, frozenset[str]] = {
    engine: frozenset(
        {"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"}
    )
    for engine in ("mariadb", "mysql")
}


def _rds_source(ctx: Ctx) -> dict[str, Any] | None:
    """The state of a read replica's source if the run created it (RDS resolves an identifier or an ARN)."""
    source = ctx.inputs.get("replicateSourceDb")
    if not source:
        return None
    for state in ctx.created(_RDS_INSTANCE):
        if source in (state.get("identifier"), state.get("arn")):
            return dict(state)
    return None


def _rds_engine(ctx: Ctx) -> str | None:
    """The instance's engine: its own input, else (a replica) its source's."""
    engine = ctx.inputs.get("engine") or (_rds_source(ctx) or {}).get("engine")
    return str(engine) if engine else None


def _rds_replica_source_form(ctx: Ctx) -> str | None:
    # pulumi-aws rds.Instance, replicate_source_db: "If replicating an Amazon RDS Database Instance in the
    # same region, use the `identifier` of the source DB, unless also specifying the `db_subnet_group_name`.
    # If specifying the `db_subnet_group_name` in the same region, use the `arn` of the source DB." Given an
    # identifier and a subnet group, RDS answers with the error quoted below (hashicorp/terraform-provider-aws
    # issue 528; the provider accepts the ARN form since its pull request 40426). An identifier is always
    # same-region (a cross-region source must be an ARN anyway).
    source = str(ctx.inputs.get("replicateSourceDb") or "")
    if not source or source.startswith("arn:") or not ctx.inputs.get("dbSubnetGroupName"):
        return None
    return (
        f"creating the read replica fails: DBSubnetGroupNotAllowedFault: DbSubnetGroupName should not be "
        f"specified for read replicas that are created in the same region as the master (replicateSourceDb "
        f"{source!r} is an identifier while dbSubnetGroupName is set; with a subnet group the source must be "
        "given by its ARN)"
    )


def _rds_performance_insights_class(ctx: Ctx) -> str | None:
    # See _PI_UNSUPPORTED_CLASSES for the source. A replica's engine is its source's.
    if not ctx.inputs.get("performanceInsightsEnabled"):
        return None
    engine, instance_class = _rds_engine(ctx), str(ctx.inputs.get("instanceClass") or "")
    if instance_class not in _PI_UNSUPPORTED_CLASSES.get(engine or "", frozenset()):
        return None
    return (
        "InvalidParameterCombination: Performance Insights not supported for this configuration "
        f"({engine} on {instance_class}: RDS for MariaDB and MySQL do not support it on micro and small "
        "burstable classes)"
    )


def _rds_subnet_group_name(ctx: Ctx) -> str | None:
    value = str(ctx.get("name") or "")
    if _RDS_SUBNET_GROUP.match(value) and value != "default":
        return None
    return (
        f"name {value!r} is refused by the provider: only lowercase letters, digits, spaces, '.', '_' and '-'"
    )


# ELBv2 and ElastiCache names: the Terraform AWS provider's ValidateFuncs, which the bridged provider runs in
# Check (before any AWS call), with their messages. terraform-provider-aws internal/service/elbv2/validate.go
# validName (aws_lb) and validTargetGroupName (aws_lb_target_group); internal/service/elasticache/
# replication_group.go validateReplicationGroupID (StringLenBetween(1, 40) and four StringMatch rules).
# The pulumi-aws docstrings state the same limits (lb/load_balancer.py and lb/target_group.py ``name``: "can
# have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, and must not begin or
# end with a hyphen").
_ALNUM_HYPHEN = re.compile(r"^[0-9A-Za-z-]+$")


def _lb_name(ctx: Ctx) -> str | None:
    value = str(ctx.get("name") or "")
    errors = []
    if len(value) > 32:
        errors.append(f'"name" cannot be longer than 32 characters: "{value}"')
    if not _ALNUM_HYPHEN.match(value):
        errors.append(f'only alphanumeric characters and hyphens allowed in "name": "{value}"')
    if value.startswith("-"):
        errors.append(f'"name" cannot begin with a hyphen: "{value}"')
    if value.endswith("-"):
        errors.append(f'"name" cannot end with a hyphen: "{value}"')
    if value.startswith("internal-"):
        errors.append(f'"name" cannot begin with "internal-": "{value}"')
    return "; ".join(errors) or None


def _target_group_name(ctx: Ctx) -> str | None:
    value = str(ctx.get("name") or "")
    errors = []
    if len(value) > 32:
        errors.append('"name" cannot be longer than 32 characters')
    if not _ALNUM_HYPHEN.match(value):
        errors.append('only alphanumeric characters and hyphens allowed in "name"')
    if value.startswith("-"):
        errors.append('"name" cannot begin with a hyphen')
    if value.endswith("-"):
        errors.append('"name" cannot end with a hyphen')
    return "; ".join(errors) or None


def _replication_group_id(ctx: Ctx) -> str | None:
    value = str(ctx.get("replicationGroupId") or "")
    errors = []
    if not 1 <= len(value) <= 40:
        # terraform-plugin-sdk helper/validation StringLenBetween's message.
        errors.append(f"expected length of replication_group_id to be in the range (1 - 40), got {value}")
    if not _ALNUM_HYPHEN.match(value):
        errors.append("replication_group_id must contain only alphanumeric characters and hyphens")
    if not value[:1].isalpha():
        errors.append("replication_group_id must begin with a letter")
    if "--" in value:
        errors.append("replication_group_id cannot contain two consecutive hyphens")
    if value.endswith("-"):
        errors.append("replication_group_id cannot end with a hyphen")
    return "; ".join(errors) or None


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


def _by(*keys: str, sep: str = ":") -> Any:
    """An id made of input values joined by ``sep`` (many association-like resources)."""

    def make_id(ctx: Ctx) -> str:
        return sep.join(str(ctx.get(key, "")) for key in keys)

    return make_id


def _ecr_repository(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    return {
        "arn": ctx.arn("ecr", f"repository/{name}"),
        "registryId": ctx.account,
        "repositoryUrl": f"{ctx.account}.dkr.ecr.{ctx.region}.{DNS_SUFFIX}/{name}",
    }


def _get(key: str) -> Any:
    def make_id(ctx: Ctx) -> str:
        return str(ctx.get(key))

    return make_id


def _arn_id(ctx: Ctx) -> str:
    return str(ctx.get("arn"))


def _prefixed(prefix: str, length: int = 17) -> Any:
    def make_id(ctx: Ctx) -> str:
        return f"{prefix}{ctx.hex(length, 'id')}"

    return make_id


_NAME = AutoName("name")
_NAME_LOWER = AutoName("name", lower=True)
_NAME_OR_PREFIX = AutoName("name", prefix_prop="namePrefix")

register(
    # EC2 / VPC
    _simple_ec2("aws:ec2/vpc:Vpc", "vpc", "vpc", compute=_vpc),
    Emulation(
        type="aws:ec2/subnet:Subnet", id=_prefixed("subnet-"), compute=_subnet, checks=(_subnet_zone_exists,)
    ),
    _simple_ec2("aws:ec2/internetGateway:InternetGateway", "igw", "internet-gateway"),
    Emulation(type="aws:ec2/eip:Eip", id=_prefixed("eipalloc-"), compute=_eip),
    Emulation(type="aws:ec2/natGateway:NatGateway", id=_prefixed("nat-"), compute=_nat),
    _simple_ec2("aws:ec2/routeTable:RouteTable", "rtb", "route-table"),
    Emulation(type="aws:ec2/route:Route", id=_prefixed("r-rtb-", 17)),
    Emulation(type="aws:ec2/routeTableAssociation:RouteTableAssociation", id=_prefixed("rtbassoc-")),
    Emulation(type="aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation", id=_prefixed("rtbassoc-")),
    Emulation(
        type="aws:ec2/securityGroup:SecurityGroup",
        id=_prefixed("sg-"),
        autonames=(_NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi", "revokeRulesOnDelete": False},
        compute=_security_group,
        checks=(_ec2_sg_text("name", "description"),),
    ),
    Emulation(
        type="aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        id=_prefixed("sg-"),
        defaults={"name": "default", "description": "default VPC security group"},
        compute=_security_group,
    ),
    Emulation(
        type="aws:ec2/securityGroupRule:SecurityGroupRule",
        id=_prefixed("sgrule-", 10),
        compute=_sg_rule,
        checks=(_ec2_sg_text("description"),),
    ),
    Emulation(
        type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        id=_prefixed("sgr-"),
        checks=(_sg_rule_source, _ec2_sg_text("description")),
        compute=_sg_rule,
    ),
    Emulation(
        type="aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        id=_prefixed("sgr-"),
        checks=(_sg_rule_source, _ec2_sg_text("description")),
        compute=_sg_rule,
    ),
    Emulation(type="aws:ec2/vpcEndpoint:VpcEndpoint", id=_prefixed("vpce-"), compute=_vpc_endpoint),
    Emulation(
        type="aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
        id=_prefixed("a-vpce-"),
    ),
    _simple_ec2("aws:ec2/flowLog:FlowLog", "fl", "vpc-flow-log"),
    _simple_ec2("aws:ec2/networkAcl:NetworkAcl", "acl", "network-acl"),
    _simple_ec2("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "acl", "network-acl"),
    _simple_ec2("aws:ec2/defaultRouteTable:DefaultRouteTable", "rtb", "route-table"),
    Emulation(
        type="aws:ec2/launchTemplate:LaunchTemplate",
        id=_prefixed("lt-"),
        autonames=(_NAME_OR_PREFIX,),
        compute=_launch_template,
    ),
    # CloudWatch
    Emulation(
        type="aws:cloudwatch/logGroup:LogGroup",
        id=_get("name"),
        autonames=(_NAME_OR_PREFIX,),
        compute=_log_group,
    ),
    Emulation(
        type="aws:cloudwatch/metricAlarm:MetricAlarm",
        id=_get("name"),
        autonames=(_NAME,),
        compute=_named_arn("cloudwatch", "alarm"),
    ),
    # IAM
    Emulation(
        type="aws:iam/role:Role",
        id=_get("name"),
        autonames=(AutoName("name", maxlen=64, prefix_prop="namePrefix"),),
        compute=_iam_role,
    ),
    Emulation(
        type="aws:iam/policy:Policy",
        id=_arn_id,
        autonames=(_NAME_OR_PREFIX,),
        compute=_iam_policy,
    ),
    Emulation(
        type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        id=lambda ctx: f"{ctx.get('role')}-{ctx.digits(26)}",
    ),
    Emulation(
        type="aws:iam/rolePolicy:RolePolicy",
        id=_by("role", "name"),
        autonames=(_NAME_OR_PREFIX,),
    ),
    Emulation(
        type="aws:iam/instanceProfile:InstanceProfile",
        id=_get("name"),
        autonames=(_NAME_OR_PREFIX,),
        compute=_instance_profile,
    ),
    Emulation(type="aws:iam/openIdConnectProvider:OpenIdConnectProvider", id=_arn_id, compute=_oidc_provider),
    # RDS
    Emulation(
        type="aws:rds/instance:Instance",
        id=lambda ctx: str(ctx.state.get("resourceId")),
        autonames=(AutoName("identifier", prefix_prop="identifierPrefix"),),
        compute=_rds_instance,
        checks=(
            _rds_identifier("identifier"),
            _rds_replica_source_form,
            _rds_performance_insights_class,
        ),
    ),
    Emulation(
        type="aws:rds/subnetGroup:SubnetGroup",
        id=_get("name"),
        autonames=(_NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi"},
        compute=_named_arn("rds", "subgrp"),
        checks=(_rds_subnet_group_name,),
    ),
    Emulation(
        type="aws:rds/parameterGroup:ParameterGroup",
        id=_get("name"),
        autonames=(_NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi"},
        compute=_named_arn("rds", "pg"),
        checks=(_rds_identifier("name"),),
    ),
    Emulation(
        type="aws:rds/proxy:Proxy",
        id=_get("name"),
        autonames=(_NAME,),
        compute=_rds_proxy,
        checks=(_rds_identifier("name"),),
    ),
    Emulation(
        type="aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
        id=_get("dbProxyName"),
        compute=_proxy_target_group,
    ),
    Emulation(type="aws:rds/proxyTarget:ProxyTarget", id=_proxy_target_id, compute=_proxy_target),
    Emulation(
        type="aws:rds/proxyEndpoint:ProxyEndpoint",
        id=_by("dbProxyName", "dbProxyEndpointName", sep="/"),
        compute=_proxy_endpoint,
    ),
    # Secrets Manager and KMS
    Emulation(
        type="aws:secretsmanager/secret:Secret",
        id=_arn_id,
        autonames=(_NAME_OR_PREFIX,),
        compute=_secret,
    ),
    Emulation(
        type="aws:secretsmanager/secretVersion:SecretVersion",
        id=lambda ctx: f"{ctx.get('secretId')}|{ctx.state['versionId']}",
        compute=_secret_version,
    ),
    Emulation(type="aws:kms/key:Key", id=lambda ctx: str(ctx.state["keyId"]), compute=_kms_key),
    Emulation(
        type="aws:kms/alias:Alias",
        id=_get("name"),
        autonames=(AutoName("name", maxlen=238, prefix_prop="namePrefix", output_prefix="alias/"),),
        compute=_kms_alias,
    ),
    # ElastiCache
    Emulation(
        type="aws:elasticache/replicationGroup:ReplicationGroup",
        id=_get("replicationGroupId"),
        # pulumi-aws resources.go: tfbridge.AutoNameTransform("replicationGroupId", 40, strings.ToLower).
        autonames=(AutoName("replicationGroupId", maxlen=40, lower=True),),
        checks=(_replication_group_id,),
        compute=_replication_group,
    ),
    Emulation(
        type="aws:elasticache/subnetGroup:SubnetGroup",
        id=_get("name"),
        autonames=(_NAME_LOWER,),
        defaults={"description": "Managed by Pulumi"},
        compute=_named_arn("elasticache", "subnetgroup"),
    ),
    Emulation(
        type="aws:elasticache/parameterGroup:ParameterGroup",
        id=_get("name"),
        autonames=(_NAME_LOWER,),
        defaults={"description": "Managed by Pulumi"},
        compute=_named_arn("elasticache", "parametergroup"),
    ),
    # S3
    Emulation(
        type="aws:s3/bucket:Bucket",
        id=_get("bucket"),
        autonames=(AutoName("bucket", maxlen=63, lower=True, prefix_prop="bucketPrefix"),),
        compute=_bucket,
    ),
    *(
        Emulation(type=f"aws:s3/{module}:{cls}", id=_get("bucket"))
        for module, cls in (
            ("bucketPublicAccessBlock", "BucketPublicAccessBlock"),
            ("bucketVersioning", "BucketVersioning"),
            ("bucketServerSideEncryptionConfiguration", "BucketServerSideEncryptionConfiguration"),
            ("bucketPolicy", "BucketPolicy"),
            ("bucketLifecycleConfiguration", "BucketLifecycleConfiguration"),
            ("bucketOwnershipControls", "BucketOwnershipControls"),
            ("bucketCorsConfiguration", "BucketCorsConfiguration"),
            ("bucketLogging", "BucketLogging"),
            ("bucketNotification", "BucketNotification"),
        )
    ),
    # ECR
    Emulation(
        type="aws:ecr/repository:Repository",
        id=_get("name"),
        autonames=(_NAME_LOWER,),
        compute=_ecr_repository,
    ),
    Emulation(
        type="aws:ecr/lifecyclePolicy:LifecyclePolicy",
        id=_get("repository"),
        compute=lambda ctx: {"registryId": ctx.account},
    ),
    # EKS
    Emulation(
        type="aws:eks/cluster:Cluster",
        id=_get("name"),
        autonames=(_NAME,),
        compute=_eks_cluster,
        checks=(_eks_cluster_subnets,),
    ),
    Emulation(
        type="aws:eks/nodeGroup:NodeGroup",
        id=_by("clusterName", "nodeGroupName"),
        autonames=(AutoName("nodeGroupName", prefix_prop="nodeGroupNamePrefix"),),
        compute=_node_group,
        checks=(_node_group_subnets,),
    ),
    Emulation(
        type="aws:eks/addon:Addon",
        id=_by("clusterName", "addonName"),
        compute=_addon,
        checks=(_addon_configuration,),
    ),
    Emulation(
        type="aws:eks/accessEntry:AccessEntry", id=_by("clusterName", "principalArn"), compute=_access_entry
    ),
    Emulation(
        type="aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        id=_by("clusterName", "principalArn", "policyArn", sep="#"),
        compute=lambda ctx: {"associatedAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"},
    ),
    Emulation(
        type="aws:eks/podIdentityAssociation:PodIdentityAssociation",
        id=lambda ctx: f"{ctx.get('clusterName')},{ctx.state['associationId']}",
        compute=_pod_identity,
    ),
    # Load balancing, certificates, DNS, auto scaling
    Emulation(
        type="aws:lb/loadBalancer:LoadBalancer",
        id=_arn_id,
        # pulumi-aws gives aws_lb no auto-name length of its own (provider/legacy aliases: no Fields), so
        # setAutonaming's default applies (provider/autonaming.go: AutoName("name", 255, "-")) and a long
        # generated name is refused by Terraform's validName instead.
        autonames=(AutoName("name", maxlen=255, prefix_prop="namePrefix"),),
        checks=(_lb_name,),
        compute=_load_balancer,
    ),
    Emulation(
        type="aws:lb/targetGroup:TargetGroup",
        id=_arn_id,
        # pulumi-aws: "name": tfbridge.AutoName("name", 32, "-") (aws_lb_target_group's ResourceInfo).
        autonames=(AutoName("name", maxlen=32, prefix_prop="namePrefix"),),
        checks=(_target_group_name,),
        compute=_target_group,
    ),
    Emulation(type="aws:lb/listener:Listener", id=_arn_id, compute=_listener),
    Emulation(type="aws:lb/listenerRule:ListenerRule", id=_arn_id, compute=_listener_rule),
    Emulation(
        type="aws:lb/targetGroupAttachment:TargetGroupAttachment",
        id=lambda ctx: f"{ctx.get('targetGroupArn')}-{ctx.digits(20)}",
    ),
    Emulation(type="aws:acm/certificate:Certificate", id=_arn_id, compute=_certificate),
    Emulation(
        type="aws:acm/certificateValidation:CertificateValidation",
        id=lambda ctx: "2024-01-01 00:00:00 +0000 UTC",
    ),
    Emulation(type="aws:route53/zone:Zone", id=lambda ctx: str(ctx.state["zoneId"]), compute=_zone),
    Emulation(
        type="aws:route53/record:Record",
        id=_by("zoneId", "name", "type", sep="_"),
        compute=lambda ctx: {"fqdn": str(ctx.get("name")).rstrip(".")},
    ),
    Emulation(
        type="aws:autoscaling/attachment:Attachment",
        id=lambda ctx: f"{ctx.get('autoscalingGroupName')}-{ctx.digits(20)}",
    ),
)
