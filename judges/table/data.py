"""The mapping table's rows for the data stores: ElastiCache, KMS, RDS, S3 (CloudFormation keeps a bucket's
configuration inside AWS::S3::Bucket) and Secrets Manager.
"""

from __future__ import annotations

from typing import Any

from ..shapes import as_str, json_doc, pascal, pick, tag_list
from .model import DELETE_BEHAVIOUR, PREFIX_EXPANDED, WRITE_ONLY_VERSION, Cfn, Drop, Merge, Row, Tf, To

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


def _log_delivery(value: Any) -> list[dict[str, Any]]:
    """ElastiCache log delivery as AWS::ElastiCache::ReplicationGroup LogDeliveryConfigurationRequest: the
    destination (a log group name) nested under DestinationDetails.CloudWatchLogsDetails.LogGroup."""
    return [
        {
            "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": item["destination"]}},
            "DestinationType": item["destinationType"],
            "LogFormat": item["logFormat"],
            "LogType": item["logType"],
        }
        for item in value
    ]


_S3_CHILD = Merge(into="aws:s3/bucket:Bucket", by="bucket", key="bucket")


ROWS: dict[str, Row] = {
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
                "authTokenWoVersion": WRITE_ONLY_VERSION,
                "authTokenUpdateStrategy": Drop(
                    "how the provider changes an existing token (ModifyReplicationGroup); nothing at create"
                ),
                "autoMinorVersionUpgrade": To("AutoMinorVersionUpgrade"),
                "maintenanceWindow": To("PreferredMaintenanceWindow"),
                "snapshotWindow": To("SnapshotWindow"),
                "logDeliveryConfigurations": To("LogDeliveryConfigurations", _log_delivery),
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
        Tf(
            "aws_elasticache_replication_group",
            renames={"logDeliveryConfigurations": "log_delivery_configuration"},
        ),
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
                # Pulumi's older name of the key spec (pulumi-aws kms/key.py: customer_master_key_spec).
                "customerMasterKeySpec": To("KeySpec"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_kms_key"),
    ),
    "aws:kms/alias:Alias": Row(
        Cfn(
            "AWS::KMS::Alias",
            {"name": To("AliasName"), "namePrefix": PREFIX_EXPANDED, "targetKeyId": To("TargetKeyId")},
            name=("name", "AliasName"),
        ),
        Tf("aws_kms_alias"),
    ),
    # --- RDS ---
    "aws:rds/instance:Instance": Row(
        Cfn(
            "AWS::RDS::DBInstance",
            {
                "identifier": To("DBInstanceIdentifier"),
                "identifierPrefix": PREFIX_EXPANDED,
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
                "passwordWoVersion": WRITE_ONLY_VERSION,
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
                "deleteAutomatedBackups": To("DeleteAutomatedBackups"),
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
                "skipFinalSnapshot": DELETE_BEHAVIOUR,
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
                "namePrefix": PREFIX_EXPANDED,
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
                "namePrefix": PREFIX_EXPANDED,
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
                "bucketPrefix": PREFIX_EXPANDED,
                "forceDestroy": DELETE_BEHAVIOUR,
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
                "namePrefix": PREFIX_EXPANDED,
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
                "secretStringWoVersion": WRITE_ONLY_VERSION,
            },
            merge=Merge(into="aws:secretsmanager/secret:Secret", by="secretId", key="arn"),
        ),
        Tf("aws_secretsmanager_secret_version"),
    ),
}
