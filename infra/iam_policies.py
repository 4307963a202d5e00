"""IAM and bucket policy documents as plain JSON-ready dicts. Pure: no Pulumi import, golden-tested.

The functions take ARNs as plain strings; the program applies them over Outputs. No statement they build
allows a ``*`` action on a ``*`` resource; the policy rule ``iam-no-star-on-star`` (policy/baseline.py) checks
every policy document of the stack for one.

Per-tenant isolation inside the uploads bucket is enforced by the app, not by IAM: an API pod serves every
tenant with one role session, and a request's tenant is a claim in the caller's JWT that IAM never sees.
IAM could key on it only through a session per tenant (``sts:AssumeRole`` with a ``tenant`` session tag and
``${aws:PrincipalTag/tenant}`` in the resource), i.e. an STS call and a client per tenant per pod, or a role
per tenant. The policies below therefore confine the workloads to the ``tenants/`` tree (and the worker to
the exports under it), and the app builds every key from the authenticated tenant (app/core/storage.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

POLICY_VERSION: Final = "2012-10-17"
TENANTS_PREFIX: Final = "tenants/"

# A bucket ARN names exactly one bucket: no wildcard, no key part.
_BUCKET_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A secret ARN names exactly one secret (Secrets Manager appends a 6-character suffix to the name).
_SECRET_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
)
_ACCOUNT_ID = re.compile(r"^\d{12}$")

# Regions whose ELB log delivery writes as an AWS-owned account (regions opened before August 2022). Newer
# regions deliver as the service principal instead. Source: the ALB user guide, "Enable access logs".
ELB_LOG_ACCOUNTS: Final[Mapping[str, str]] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
ELB_LOG_DELIVERY_SERVICE: Final = "logdelivery.elasticloadbalancing.amazonaws.com"
ALB_ACCESS_LOG_PREFIX: Final = "alb"
"""The one prefix of the ALB's access logs: the load balancer's ``access_logs.prefix`` and the log bucket's
delivery grant both derive from it (infra/alb.py, infra/storage.py, wired by stacks/program.py)."""
S3_ACCESS_LOG_PREFIX: Final = "s3-access/"
"""Key prefix of the S3 server access logs (of the uploads bucket) in the log bucket."""

Statement = dict[str, Any]
PolicyDocument = dict[str, Any]


def _check_bucket_arn(bucket_arn: str) -> str:
    if not _BUCKET_ARN.fullmatch(bucket_arn):
        raise ValueError(f"{bucket_arn!r} is not the ARN of one S3 bucket (arn:aws:s3:::<name>)")
    return bucket_arn


def _check_secret_arns(secret_arns: Iterable[str]) -> list[str]:
    arns = sorted(set(secret_arns))  # stable order: the document must not change when shards are reordered
    for arn in arns:
        if not _SECRET_ARN.fullmatch(arn):
            raise ValueError(f"{arn!r} is not the ARN of one Secrets Manager secret")
    return arns


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _document(statements: Sequence[Statement]) -> PolicyDocument:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def _read_secrets(secret_arns: Sequence[str]) -> list[Statement]:
    # DB passwords live in the shards' own secrets (encrypted with the account's aws/secretsmanager key, which
    # needs no kms grant in the caller's policy). No statement at all when there are none: IAM rejects a
    # statement with an empty Resource.
    if not secret_arns:
        return []
    return [
        {
            "Sid": "ReadDatabaseSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": list(secret_arns),
        }
    ]


def api_policy_document(*, bucket_arn: str, db_secret_arns: Iterable[str]) -> PolicyDocument:
    """What the API pods may do: objects under ``tenants/`` of the uploads bucket, and read the DB secrets.

    Get (presigned downloads), Put (attachment uploads) and Delete (attachment and document deletes) on
    ``tenants/*``; ListBucket only for prefixes under ``tenants/`` (it also turns a missing key into a 404
    rather than a 403).
    """
    bucket = _check_bucket_arn(bucket_arn)
    secrets = _check_secret_arns(db_secret_arns)
    return _document(
        [
            {
                "Sid": "TenantObjects",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket}/{TENANTS_PREFIX}*",
            },
            {
                "Sid": "ListTenantPrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket,
                "Condition": {"StringLike": {"s3:prefix": [f"{TENANTS_PREFIX}*"]}},
            },
            *_read_secrets(secrets),
        ]
    )


def worker_policy_document(*, bucket_arn: str, db_secret_arns: Iterable[str]) -> PolicyDocument:
    """What the queue worker may do: write export files under ``tenants/<tenant>/exports/``, read DB secrets.

    The worker never reads uploaded documents (exports come from the database) and never lists: it only
    puts the file the API later presigns.
    """
    bucket = _check_bucket_arn(bucket_arn)
    secrets = _check_secret_arns(db_secret_arns)
    return _document(
        [
            {
                "Sid": "WriteTenantExports",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket}/{TENANTS_PREFIX}*/exports/*",
            },
            *_read_secrets(secrets),
        ]
    )


def _deny_insecure_transport(bucket: str) -> Statement:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket, f"{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_only_bucket_policy(*, bucket_arn: str) -> PolicyDocument:
    """The uploads bucket's policy: refuse every request made without TLS (grants come from IAM roles)."""
    return _document([_deny_insecure_transport(_check_bucket_arn(bucket_arn))])


def elb_log_delivery_principal(region: str) -> dict[str, str]:
    """Who writes ALB access logs in a region: the region's ELB account, or the log delivery service."""
    account = ELB_LOG_ACCOUNTS.get(region)
    if account is None:
        return {"Service": ELB_LOG_DELIVERY_SERVICE}
    return {"AWS": f"arn:{partition_of(region)}:iam::{account}:root"}


def elb_log_key_prefix(prefix: str, account_id: str) -> str:
    """Where ELB writes a load balancer's access logs in the bucket: ``<prefix>/AWSLogs/<account id>/``.

    Source: the ELB user guide, "Access logs for your Application Load Balancer": log files are named
    ``bucket[/prefix]/AWSLogs/aws-account-id/elasticloadbalancing/region/...``, the bucket policy grants
    ``arn:aws:s3:::bucket-name/prefix/AWSLogs/your-aws-account-id/*``, and when logging is enabled ELB writes
    ``prefix/AWSLogs/<account id>/ELBAccessLogTestFile`` to check that grant (the load balancer's create or
    update fails with "Access Denied for bucket" when it cannot). The prefix must not contain ``AWSLogs``.
    """
    if "AWSLogs" in prefix or prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"access log prefix {prefix!r}: no 'AWSLogs' and no leading or trailing '/'")
    return f"{prefix}/AWSLogs/{account_id}/" if prefix else f"AWSLogs/{account_id}/"


def access_log_bucket_policy(
    *,
    bucket_arn: str,
    region: str,
    account_id: str,
    prefix: str = ALB_ACCESS_LOG_PREFIX,
    server_access_log_sources: Sequence[str] = (),
) -> PolicyDocument:
    """The log bucket's policy: TLS only; ELB may put objects under this account's log prefix; and, for
    each source bucket given, S3 server access logging may put objects under ``S3_ACCESS_LOG_PREFIX``."""
    bucket = _check_bucket_arn(bucket_arn)
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(f"{account_id!r} is not a 12-digit AWS account id")
    statements: list[Statement] = [
        _deny_insecure_transport(bucket),
        {
            "Sid": "AllowElbLogDelivery",
            "Effect": "Allow",
            "Principal": elb_log_delivery_principal(region),
            "Action": "s3:PutObject",
            "Resource": f"{bucket}/{elb_log_key_prefix(prefix, account_id)}*",
        },
    ]
    if server_access_log_sources:
        sources = sorted(_check_bucket_arn(source) for source in server_access_log_sources)
        # S3 user guide, enable-server-access-logging.html, "Grant permissions to the logging service
        # principal using a bucket policy": logging.s3.amazonaws.com, s3:PutObject under the target prefix,
        # conditioned on the source bucket (aws:SourceArn) and its account (aws:SourceAccount).
        statements.append(
            {
                "Sid": "AllowS3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket}/{S3_ACCESS_LOG_PREFIX}*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": sources[0] if len(sources) == 1 else sources},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            }
        )
    return _document(statements)
