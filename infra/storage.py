"""S3: the uploads bucket (tenant files and exports) and the load balancer's access-log bucket.

Encryption is SSE-S3 on both. The access-log bucket has no choice (ALB log delivery supports SSE-S3 only).
For uploads, SSE-KMS would add a KMS request to every GetObject/PutObject (a per-request cost and an
account-wide request quota shared under load), a kms:Decrypt grant for every role, and no tenant isolation of
its own unless the project ran one key per tenant. Who may touch which objects is decided by the workloads'
IAM policies (infra/iam_policies.py); SSE-S3 protects the data at rest at no per-request cost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from infra.iam_policies import (
    ALB_ACCESS_LOG_PREFIX,
    access_log_bucket_policy,
    api_policy_document,
    tls_only_bucket_policy,
    worker_policy_document,
)

SSE_S3: Final = "AES256"


@dataclass(frozen=True, kw_only=True)
class CorsRule:
    """One CORS rule (exact origins only)."""

    allowed_origins: Sequence[str]
    """Exact origins, e.g. https://app.example.com."""
    allowed_methods: Sequence[str]
    """HTTP methods, e.g. GET and PUT."""
    allowed_headers: Sequence[str]
    """Request headers the browser may send."""
    expose_headers: Sequence[str]
    """Response headers the browser may read."""
    max_age_seconds: int
    """Preflight cache time."""


@dataclass(frozen=True, kw_only=True)
class UploadsBucketArgs:
    """Inputs of an UploadsBucket. All plain: the component branches on them."""

    noncurrent_version_expiration_days: int
    """Days after which noncurrent object versions are deleted."""
    abort_incomplete_multipart_days: int
    """Days after which incomplete multipart uploads are aborted."""
    cors: CorsRule | None = None
    """Optional CORS rule for browsers using presigned URLs."""
    is_prod: bool
    """Protect the bucket against deletion."""


@dataclass(frozen=True, kw_only=True)
class AccessLogBucketArgs:
    """Inputs of an AccessLogBucket."""

    region: str
    """Region of the bucket and the load balancer (selects the ELB log delivery principal)."""
    account_id: pulumi.Input[str]
    """This account's id: ELB writes under <prefix>/AWSLogs/<account id>/."""
    retention_days: int
    """Days access logs are kept."""
    is_prod: bool
    """Protect the bucket against deletion."""
    prefix: str = ALB_ACCESS_LOG_PREFIX
    """Key prefix the load balancer writes under; ELB may write only below ``<prefix>/AWSLogs/<account>/``."""
    server_access_log_sources: Sequence[pulumi.Input[str]] = ()
    """ARNs of buckets whose S3 server access logs land here, under ``S3_ACCESS_LOG_PREFIX``."""


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def lifecycle_rules(
    *, abort_multipart_days: int, noncurrent_days: int, expire_days: int | None = None
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Lifecycle of a versioned bucket: abort stale multipart uploads, expire old versions (and, for logs,
    current objects after ``expire_days``)."""
    # An empty filter applies a rule to the whole bucket.
    everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs()
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=everything,
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=abort_multipart_days
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-noncurrent-versions",
            status="Enabled",
            filter=everything,
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=noncurrent_days
            ),
        ),
        # Once its versions are gone, a delete marker is all that is left of an object: remove it too.
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=everything,
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=True
            ),
        ),
    ]
    if expire_days is not None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-current-versions",
                status="Enabled",
                filter=everything,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days),
            )
        )
    return rules


class _SecureBucket:
    """The baseline every bucket of the project gets, created as children of ``parent``.

    Owner-enforced ownership (ACLs off), all four public-access blocks, SSE-S3, versioning, a lifecycle and
    a bucket policy built from the bucket's ARN by ``policy_for``. The policy waits for the public-access
    block: S3 refuses concurrent policy changes on one bucket.
    """

    def __init__(
        self,
        parent: pulumi.Resource,
        name: str,
        *,
        protect: bool,
        lifecycle: list[aws.s3.BucketLifecycleConfigurationRuleArgs],
        policy_for: Callable[[str], pulumi.Input[str]],
    ) -> None:
        def opts(depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=parent, depends_on=depends_on)

        # Auto-named (name plus a random suffix): bucket names are global, so a fixed one could collide.
        # Never force_destroy: deleting a bucket that still holds tenant files must fail.
        self.bucket = aws.s3.Bucket(
            name,
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=parent, protect=protect),
        )
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=opts(),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=SSE_S3
                    )
                )
            ],
            opts=opts(),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=opts(),
        )
        # Noncurrent-version rules mean nothing until versioning is on.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=lifecycle,
            opts=opts([versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=self.bucket.arn.apply(policy_for),
            opts=opts([public_access]),
        )


class UploadsBucket(pulumi.ComponentResource):
    """The uploads bucket: tenant files under tenants/<tenant>/, exports under tenants/<tenant>/exports/."""

    bucket_name: pulumi.Output[str]
    """Name of the bucket (NEXUS_S3_BUCKET)."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket."""

    def __init__(
        self, name: str, args: UploadsBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:storage:UploadsBucket", name, None, opts)
        base = _SecureBucket(
            self,
            name,
            protect=args.is_prod,
            lifecycle=lifecycle_rules(
                abort_multipart_days=args.abort_incomplete_multipart_days,
                noncurrent_days=args.noncurrent_version_expiration_days,
            ),
            policy_for=lambda arn: _json(tls_only_bucket_policy(bucket_arn=arn)),
        )
        if args.cors is not None:
            self._cors(name, base.bucket, args.cors)
        self.bucket_name = base.bucket.bucket
        self.bucket_arn = base.bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})

    def _cors(self, name: str, bucket: aws.s3.Bucket, rule: CorsRule) -> None:
        aws.s3.BucketCorsConfiguration(
            f"{name}-cors",
            bucket=bucket.id,
            cors_rules=[
                aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    id="presigned-browser-access",
                    allowed_origins=list(rule.allowed_origins),
                    allowed_methods=list(rule.allowed_methods),
                    allowed_headers=list(rule.allowed_headers),
                    expose_headers=list(rule.expose_headers),
                    max_age_seconds=rule.max_age_seconds,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def api_policy(self, db_secret_arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
        """The API pods' IAM policy (JSON) on this bucket and the given DB secrets; creates no resource."""
        return pulumi.Output.all(self.bucket_arn, *db_secret_arns).apply(
            lambda values: _json(api_policy_document(bucket_arn=values[0], db_secret_arns=values[1:]))
        )

    def worker_policy(self, db_secret_arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
        """The queue worker's IAM policy (JSON) on this bucket and these DB secrets; creates no resource."""
        return pulumi.Output.all(self.bucket_arn, *db_secret_arns).apply(
            lambda values: _json(worker_policy_document(bucket_arn=values[0], db_secret_arns=values[1:]))
        )


class AccessLogBucket(pulumi.ComponentResource):
    """The ALB access-log bucket: SSE-S3 (all ALB delivery supports) and the ELB delivery policy."""

    bucket_name: pulumi.Output[str]
    """Name of the bucket (the load balancer's access_logs bucket)."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket."""
    log_prefix: str
    """The prefix ELB may write under: the load balancer's ``access_logs.prefix`` must be this one."""

    def __init__(
        self, name: str, args: AccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:storage:AccessLogBucket", name, None, opts)
        account_and_sources = pulumi.Output.all(args.account_id, *args.server_access_log_sources)

        def policy_for(arn: str) -> pulumi.Output[str]:
            return account_and_sources.apply(
                lambda values: _json(
                    access_log_bucket_policy(
                        bucket_arn=arn,
                        region=args.region,
                        account_id=values[0],
                        prefix=args.prefix,
                        server_access_log_sources=values[1:],
                    )
                )
            )

        # Log objects are written once and never overwritten, so noncurrent versions only appear when the
        # lifecycle expires an object: keep them one day.
        base = _SecureBucket(
            self,
            name,
            protect=args.is_prod,
            lifecycle=lifecycle_rules(
                abort_multipart_days=1, noncurrent_days=1, expire_days=args.retention_days
            ),
            policy_for=policy_for,
        )
        self.bucket_name = base.bucket.bucket
        self.bucket_arn = base.bucket.arn
        self.log_prefix = args.prefix
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})
