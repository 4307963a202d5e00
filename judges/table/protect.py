"""The mapping table's rows for the hardening types: WAFv2 (web ACL, association, logging), SNS (topic,
subscription) and S3 server access logging (merged into its bucket)."""

from __future__ import annotations

from typing import Any

from ..shapes import pascal, pascal_key
from .model import PREFIX_EXPANDED, Cfn, Drop, Merge, Row, Tf, To


def _waf(value: Any) -> Any:
    """A WAFv2 structure in CloudFormation's casing: PascalCase, except that the API spells CloudWatch with
    a capital W (AWS::WAFv2::WebACL VisibilityConfig.CloudWatchMetricsEnabled); an empty action stays ``{}``
    (``Allow: {}``, ``Block: {}``, ``None: {}``)."""
    if isinstance(value, dict):
        return {_WAF_KEYS.get(key, pascal_key(key)): _waf(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_waf(item) for item in value]
    return value


_WAF_KEYS = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


ROWS: dict[str, Row] = {
    # --- WAFv2 ---
    "aws:wafv2/webAcl:WebAcl": Row(
        Cfn(
            "AWS::WAFv2::WebACL",
            {
                "name": To("Name"),
                "namePrefix": PREFIX_EXPANDED,
                "description": To("Description"),
                "scope": To("Scope"),
                "defaultAction": To("DefaultAction", _waf),
                "rules": To("Rules", _waf),
                "visibilityConfig": To("VisibilityConfig", _waf),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_wafv2_web_acl", renames={"rules": "rule"}),
    ),
    "aws:wafv2/webAclAssociation:WebAclAssociation": Row(
        Cfn(
            "AWS::WAFv2::WebACLAssociation",
            {"resourceArn": To("ResourceArn"), "webAclArn": To("WebACLArn")},
        ),
        Tf("aws_wafv2_web_acl_association"),
    ),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": Row(
        Cfn(
            "AWS::WAFv2::LoggingConfiguration",
            {
                "resourceArn": To("ResourceArn"),
                "logDestinationConfigs": To("LogDestinationConfigs"),
                "redactedFields": To("RedactedFields", pascal),
            },
        ),
        Tf("aws_wafv2_web_acl_logging_configuration"),
    ),
    # --- SNS ---
    "aws:sns/topic:Topic": Row(
        Cfn(
            "AWS::SNS::Topic",
            {
                "name": To("TopicName"),
                "namePrefix": PREFIX_EXPANDED,
                "kmsMasterKeyId": To("KmsMasterKeyId"),
                "tags": To("Tags"),
            },
            name=("name", "TopicName"),
            tags="list",
        ),
        Tf("aws_sns_topic"),
    ),
    "aws:sns/topicSubscription:TopicSubscription": Row(
        Cfn(
            "AWS::SNS::Subscription",
            {
                "topic": To("TopicArn"),
                "protocol": To("Protocol"),
                "endpoint": To("Endpoint"),
                "endpointAutoConfirms": Drop(
                    "the provider's hint that an HTTPS endpoint confirms by itself; not an SNS attribute"
                ),
            },
        ),
        Tf("aws_sns_topic_subscription"),
    ),
    # --- S3 server access logging: a property of the bucket in CloudFormation ---
    "aws:s3/bucketLogging:BucketLogging": Row(
        Cfn(
            "AWS::S3::Bucket",
            {
                "bucket": Drop("names the bucket it is merged into"),
                "targetBucket": To("LoggingConfiguration.DestinationBucketName"),
                "targetPrefix": To("LoggingConfiguration.LogFilePrefix"),
            },
            merge=Merge(into="aws:s3/bucket:Bucket", by="bucket", key="bucket"),
        ),
        Tf("aws_s3_bucket_logging"),
    ),
}
