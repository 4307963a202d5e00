"""The workloads' IAM policies and the buckets' policies: golden files, key coverage, and the wildcard finder.

Golden files live in tests/golden/; after an intended change, regenerate them with
``NEXUS_UPDATE_GOLDEN=1 venv/bin/pytest tests/infra/test_iam_policies.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.storage import attachment_key, export_key, tenant_prefix
from infra.iam_policies import (
    ELB_LOG_DELIVERY_SERVICE,
    access_log_bucket_policy,
    api_policy_document,
    elb_log_delivery_principal,
    elb_log_key_prefix,
    partition_of,
    tls_only_bucket_policy,
    worker_policy_document,
)
from policy.baseline import grants_everything

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
BUCKET = "arn:aws:s3:::nexus-prod-uploads-a1b2c3d"
SECRETS = [
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-prod-shard-b-db-Zx9Yw8",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-prod-shard-a-db-Ab1Cd2",
]


def _golden(name: str, document: dict[str, Any]) -> None:
    path = GOLDEN / name
    rendered = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if os.environ.get("NEXUS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing; run with NEXUS_UPDATE_GOLDEN=1 to create it"
    assert rendered == path.read_text(), f"{name} differs from the golden file; review and regenerate"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(document: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement (without a condition) grants action on resource. IAM's ``*`` matches any
    characters, ``/`` included, as fnmatch's does; the documents use no ``?`` or ``[``."""
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or "Condition" in statement:
            continue
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        if any(fnmatchcase(action, a) for a in actions) and any(fnmatchcase(resource, r) for r in resources):
            return True
    return False


def obj(key: str) -> str:
    return f"{BUCKET}/{key}"


def test_api_policy_golden() -> None:
    _golden("iam_api_policy.json", api_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS))


def test_worker_policy_golden() -> None:
    _golden("iam_worker_policy.json", worker_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS))


def test_uploads_bucket_policy_golden() -> None:
    _golden("s3_uploads_bucket_policy.json", tls_only_bucket_policy(bucket_arn=BUCKET))


def test_access_log_bucket_policy_golden_legacy_and_new_region() -> None:
    logs = "arn:aws:s3:::nexus-prod-alb-logs-0f1e2d3"
    _golden(
        "s3_access_log_policy_us_east_1.json",
        access_log_bucket_policy(bucket_arn=logs, region="us-east-1", account_id="123456789012"),
    )
    _golden(
        "s3_access_log_policy_new_region.json",
        access_log_bucket_policy(bucket_arn=logs, region="ap-southeast-7", account_id="123456789012"),
    )


def test_access_log_bucket_policy_with_server_access_logs_golden() -> None:
    # Issue 17: the uploads bucket's S3 server access logs land in the log bucket under s3-access/.
    _golden(
        "s3_access_log_policy_with_server_access_logs.json",
        access_log_bucket_policy(
            bucket_arn="arn:aws:s3:::nexus-prod-alb-logs-0f1e2d3",
            region="us-east-1",
            account_id="123456789012",
            server_access_log_sources=["arn:aws:s3:::nexus-prod-uploads-c01aade"],
        ),
    )


def test_api_reaches_every_key_the_app_writes_and_nothing_outside_tenants() -> None:
    policy = api_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS)
    attachment = obj(attachment_key("acme", "doc-1", "att-1"))
    export = obj(export_key("acme", "job-1"))
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert allowed(policy, action, attachment)
        assert allowed(policy, action, export)
        assert not allowed(policy, action, obj("other/acme/file"))
        assert not allowed(policy, action, "arn:aws:s3:::another-bucket/tenants/acme/x")
    assert not allowed(policy, "s3:PutBucketPolicy", BUCKET)
    assert tenant_prefix("acme").startswith("tenants/")


def test_api_lists_only_under_the_tenants_prefix() -> None:
    policy = api_policy_document(bucket_arn=BUCKET, db_secret_arns=[])
    (listing,) = [s for s in policy["Statement"] if s["Action"] == "s3:ListBucket"]
    assert listing["Resource"] == BUCKET
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["tenants/*"]}}


def test_worker_writes_exports_only() -> None:
    policy = worker_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS)
    assert allowed(policy, "s3:PutObject", obj(export_key("acme", "job-1")))
    assert not allowed(policy, "s3:PutObject", obj(attachment_key("acme", "doc-1", "att-1")))
    assert not allowed(policy, "s3:GetObject", obj(export_key("acme", "job-1")))
    assert not allowed(policy, "s3:DeleteObject", obj(export_key("acme", "job-1")))
    assert not allowed(policy, "s3:PutObject", obj("exports/job-1.jsonl"))


@pytest.mark.parametrize("build", [api_policy_document, worker_policy_document])
def test_secrets_are_readable_by_exact_arn_only(build: Any) -> None:
    policy = build(bucket_arn=BUCKET, db_secret_arns=SECRETS)
    for arn in SECRETS:
        assert allowed(policy, "secretsmanager:GetSecretValue", arn)
    other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:someone-else-Qq1Ww2"
    assert not allowed(policy, "secretsmanager:GetSecretValue", other)
    # With no secrets there is no statement at all (IAM rejects an empty Resource).
    bare = build(bucket_arn=BUCKET, db_secret_arns=[])
    assert not any(s.get("Sid") == "ReadDatabaseSecrets" for s in bare["Statement"])


@pytest.mark.parametrize(
    "bad_bucket",
    ["arn:aws:s3:::*", "arn:aws:s3:::bucket/*", "*", "arn:aws:s3:::Bucket", "arn:aws:s3:::nexus-*"],
)
def test_bucket_arn_must_name_one_bucket(bad_bucket: str) -> None:
    with pytest.raises(ValueError, match="one S3 bucket"):
        api_policy_document(bucket_arn=bad_bucket, db_secret_arns=[])


@pytest.mark.parametrize("bad_secret", ["*", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"])
def test_secret_arn_must_name_one_secret(bad_secret: str) -> None:
    with pytest.raises(ValueError, match="one Secrets Manager secret"):
        worker_policy_document(bucket_arn=BUCKET, db_secret_arns=[bad_secret])


def test_access_log_policy_needs_an_account_id() -> None:
    with pytest.raises(ValueError, match="account id"):
        access_log_bucket_policy(bucket_arn=BUCKET, region="us-east-1", account_id="*")


def test_elb_principal_by_region() -> None:
    assert elb_log_delivery_principal("us-east-1") == {"AWS": "arn:aws:iam::127311923021:root"}
    assert elb_log_delivery_principal("eu-west-1") == {"AWS": "arn:aws:iam::156460612806:root"}
    assert elb_log_delivery_principal("cn-north-1") == {"AWS": "arn:aws-cn:iam::638102146993:root"}
    # Regions opened since August 2022 deliver as the service principal.
    assert elb_log_delivery_principal("eu-central-2") == {"Service": ELB_LOG_DELIVERY_SERVICE}
    assert partition_of("us-gov-west-1") == "aws-us-gov"


def test_access_log_delivery_is_limited_to_this_accounts_prefix() -> None:
    logs = "arn:aws:s3:::nexus-prod-alb-logs-0f1e2d3"
    policy = access_log_bucket_policy(
        bucket_arn=logs, region="us-east-1", account_id="123456789012", prefix="edge/alb"
    )
    (delivery,) = [s for s in policy["Statement"] if s["Sid"] == "AllowElbLogDelivery"]
    assert delivery["Action"] == "s3:PutObject"
    # ELB writes <bucket>/<prefix>/AWSLogs/<account>/... (the ELB user guide's file names and policy).
    assert delivery["Resource"] == f"{logs}/edge/alb/AWSLogs/123456789012/*"
    unprefixed = access_log_bucket_policy(
        bucket_arn=logs, region="us-east-1", account_id="123456789012", prefix=""
    )
    assert unprefixed["Statement"][1]["Resource"] == f"{logs}/AWSLogs/123456789012/*"


@pytest.mark.parametrize("prefix", ["logs/AWSLogs", "/alb", "alb/"])
def test_access_log_prefix_follows_elb_rules(prefix: str) -> None:
    # "The prefix that you specify must not include AWSLogs" (ELB user guide); slashes are the separator.
    with pytest.raises(ValueError, match="access log prefix"):
        elb_log_key_prefix(prefix, "123456789012")


@pytest.mark.parametrize("build", [tls_only_bucket_policy])
def test_bucket_policy_denies_plain_http(build: Any) -> None:
    (deny,) = build(bucket_arn=BUCKET)["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {BUCKET, f"{BUCKET}/*"}


def test_no_document_grants_everything() -> None:
    logs = "arn:aws:s3:::nexus-prod-alb-logs-0f1e2d3"
    documents = [
        api_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS),
        worker_policy_document(bucket_arn=BUCKET, db_secret_arns=SECRETS),
        tls_only_bucket_policy(bucket_arn=BUCKET),
        access_log_bucket_policy(bucket_arn=logs, region="us-east-1", account_id="123456789012"),
    ]
    for document in documents:
        assert [s for s in document["Statement"] if grants_everything(s)] == []
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                assert "*" not in _as_list(statement["Resource"])


_secret_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}-[A-Za-z0-9]{6}", fullmatch=True)


@given(st.lists(_secret_names, min_size=1, max_size=8, unique=True), st.randoms())
def test_secret_order_never_changes_the_document(names: list[str], rnd: Any) -> None:
    arns = [f"arn:aws:secretsmanager:eu-west-1:210987654321:secret:{name}" for name in names]
    shuffled = list(arns)
    rnd.shuffle(shuffled)
    first = api_policy_document(bucket_arn=BUCKET, db_secret_arns=arns)
    assert first == api_policy_document(bucket_arn=BUCKET, db_secret_arns=shuffled)
    assert [s for s in first["Statement"] if grants_everything(s)] == []
    assert sorted(_as_list(first["Statement"][-1]["Resource"])) == sorted(arns)
