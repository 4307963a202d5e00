"""Data stores: RDS (instances, replicas, proxies and their rules), Secrets Manager, KMS, ElastiCache, S3."""

from __future__ import annotations

import re
from typing import Any

from ..cloud import DNS_SUFFIX, AutoName, Ctx, Emulation, register
from .common import ALNUM_HYPHEN, NAME, NAME_LOWER, NAME_OR_PREFIX, arn_id, by, get, named_arn
from .rds_ops import rds_monitoring, rds_windows

# Hosted zone ids AWS publishes for us-east-1 (ALB, S3, RDS); other regions use the same shapes.
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


# ElastiCache replication group ids: the sources are cited at ALNUM_HYPHEN in common.py
# (terraform-provider-aws internal/service/elasticache/replication_group.go validateReplicationGroupID).
def _replication_group_id(ctx: Ctx) -> str | None:
    value = str(ctx.get("replicationGroupId") or "")
    errors = []
    if not 1 <= len(value) <= 40:
        # terraform-plugin-sdk helper/validation StringLenBetween's message.
        errors.append(f"expected length of replication_group_id to be in the range (1 - 40), got {value}")
    if not ALNUM_HYPHEN.match(value):
        errors.append("replication_group_id must contain only alphanumeric characters and hyphens")
    if not value[:1].isalpha():
        errors.append("replication_group_id must begin with a letter")
    if "--" in value:
        errors.append("replication_group_id cannot contain two consecutive hyphens")
    if value.endswith("-"):
        errors.append("replication_group_id cannot end with a hyphen")
    return "; ".join(errors) or None


register(
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
            rds_monitoring,
            rds_windows,
        ),
    ),
    Emulation(
        type="aws:rds/subnetGroup:SubnetGroup",
        id=get("name"),
        autonames=(NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi"},
        compute=named_arn("rds", "subgrp"),
        checks=(_rds_subnet_group_name,),
    ),
    Emulation(
        type="aws:rds/parameterGroup:ParameterGroup",
        id=get("name"),
        autonames=(NAME_OR_PREFIX,),
        defaults={"description": "Managed by Pulumi"},
        compute=named_arn("rds", "pg"),
        checks=(_rds_identifier("name"),),
    ),
    Emulation(
        type="aws:rds/proxy:Proxy",
        id=get("name"),
        autonames=(NAME,),
        compute=_rds_proxy,
        checks=(_rds_identifier("name"),),
    ),
    Emulation(
        type="aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
        id=get("dbProxyName"),
        compute=_proxy_target_group,
    ),
    Emulation(type="aws:rds/proxyTarget:ProxyTarget", id=_proxy_target_id, compute=_proxy_target),
    Emulation(
        type="aws:rds/proxyEndpoint:ProxyEndpoint",
        id=by("dbProxyName", "dbProxyEndpointName", sep="/"),
        compute=_proxy_endpoint,
    ),
    # Secrets Manager and KMS
    Emulation(
        type="aws:secretsmanager/secret:Secret",
        id=arn_id,
        autonames=(NAME_OR_PREFIX,),
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
        id=get("name"),
        autonames=(AutoName("name", maxlen=238, prefix_prop="namePrefix", output_prefix="alias/"),),
        compute=_kms_alias,
    ),
    # ElastiCache
    Emulation(
        type="aws:elasticache/replicationGroup:ReplicationGroup",
        id=get("replicationGroupId"),
        # pulumi-aws resources.go: tfbridge.AutoNameTransform("replicationGroupId", 40, strings.ToLower).
        autonames=(AutoName("replicationGroupId", maxlen=40, lower=True),),
        checks=(_replication_group_id,),
        compute=_replication_group,
    ),
    Emulation(
        type="aws:elasticache/subnetGroup:SubnetGroup",
        id=get("name"),
        autonames=(NAME_LOWER,),
        defaults={"description": "Managed by Pulumi"},
        compute=named_arn("elasticache", "subnetgroup"),
    ),
    Emulation(
        type="aws:elasticache/parameterGroup:ParameterGroup",
        id=get("name"),
        autonames=(NAME_LOWER,),
        defaults={"description": "Managed by Pulumi"},
        compute=named_arn("elasticache", "parametergroup"),
    ),
    # S3
    Emulation(
        type="aws:s3/bucket:Bucket",
        id=get("bucket"),
        autonames=(AutoName("bucket", maxlen=63, lower=True, prefix_prop="bucketPrefix"),),
        compute=_bucket,
    ),
    *(
        Emulation(type=f"aws:s3/{module}:{cls}", id=get("bucket"))
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
)
