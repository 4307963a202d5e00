"""Uploads and access-log buckets, the workloads' policies: config (unit) and recorded resources (infra)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from infra.iam_policies import api_policy_document, worker_policy_document
from offline import ACCOUNT_ID
from policy import RULES, PolicyResource, Violation, check_rule, from_records
from stacks.config.storage import StorageConfig
from tests.support.harness import (
    RecordedResource,
    StackRun,
    config_problems,
    graph_with_inputs,
    run_stack,
    stack_config,
)

BUCKET = "aws:s3/bucket:Bucket"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
PUBLIC = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
SECRET = "aws:secretsmanager/secret:Secret"


def part(run: StackRun, type_: str, bucket_name: str, suffix: str) -> RecordedResource:
    return run.one(type_, f"{bucket_name}-{suffix}")


def rules_by_id(lifecycle: RecordedResource) -> dict[str, dict[str, Any]]:
    return {rule["id"]: rule for rule in lifecycle.inputs["rules"]}


# --- config (pure) ---------------------------------------------------------------------------------------


def _storage(**values: Any) -> StorageConfig:
    return StorageConfig.model_validate_json(json.dumps(values), strict=True)


@pytest.mark.unit
def test_storage_defaults() -> None:
    storage = _storage()
    assert storage.noncurrent_version_expiration_days == 30
    assert storage.abort_incomplete_multipart_days == 7
    assert storage.cors is None
    assert storage.access_logs is False


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cors": {"allowedOrigins": ["*"]}}, "not an exact origin"),
        ({"cors": {"allowedOrigins": ["https://app.example.com/path"]}}, "not an exact origin"),
        ({"cors": {"allowedOrigins": ["http://app.example.com"]}}, "not an exact origin"),
        ({"cors": {"allowedOrigins": []}}, "at least 1 item"),
        ({"cors": {"allowedOrigins": ["https://a.example.com"], "allowedMethods": ["PATCH"]}}, "'GET'"),
        ({"noncurrentVersionExpirationDays": 0}, "greater than or equal to 1"),
        ({"publicRead": True}, "unknown key"),
    ],
)
def test_invalid_storage_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _storage(**values)


@pytest.mark.unit
def test_local_front_ends_may_use_plain_http_on_loopback() -> None:
    cors = _storage(cors={"allowedOrigins": ["http://localhost:5173", "https://app.example.com:8443"]}).cors
    assert cors is not None
    assert cors.allowed_methods == ["GET", "PUT"]


@pytest.mark.infra
def test_prod_requires_access_logs() -> None:
    config = stack_config("prod")
    config["nexus:storage"] = {**config["nexus:storage"], "accessLogs": False}
    problems = config_problems(config, stack="prod")
    assert "nexus:storage.accessLogs: prod keeps ALB access logs; set accessLogs: true" in problems


# --- the buckets under dev and prod ------------------------------------------------------------------------

BUCKETS = [("dev", "nexus-dev-uploads"), ("prod", "nexus-prod-uploads"), ("prod", "nexus-prod-alb-logs")]


@pytest.mark.infra
@pytest.mark.parametrize(("stack", "name"), BUCKETS)
def test_every_bucket_has_the_secure_baseline(stack: str, name: str) -> None:
    run = run_stack(stack)
    bucket = run.one(BUCKET, name)
    assert bucket.inputs["forceDestroy"] is False
    assert "acl" not in bucket.inputs
    bucket_name = bucket.outputs["bucket"]
    for type_, suffix in [
        (OWNERSHIP, "ownership"),
        (PUBLIC, "public-access"),
        (SSE, "sse"),
        (VERSIONING, "versioning"),
        (LIFECYCLE, "lifecycle"),
        (POLICY, "policy"),
    ]:
        child = part(run, type_, name, suffix)
        assert child.inputs["bucket"] == bucket_name, child.urn
        assert child.parent == bucket.parent, child.urn
    assert part(run, OWNERSHIP, name, "ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    block = part(run, PUBLIC, name, "public-access").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    sse = part(run, SSE, name, "sse").inputs["rules"]
    assert sse == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    versioning = part(run, VERSIONING, name, "versioning").inputs["versioningConfiguration"]
    assert versioning == {"status": "Enabled"}


@pytest.mark.infra
@pytest.mark.parametrize(("stack", "name"), BUCKETS)
def test_policy_denies_plain_http_and_waits_for_the_public_access_block(stack: str, name: str) -> None:
    run = run_stack(stack)
    bucket = run.one(BUCKET, name)
    policy = part(run, POLICY, name, "policy")
    document = json.loads(policy.inputs["policy"])
    deny = [s for s in document["Statement"] if s["Sid"] == "DenyInsecureTransport"]
    assert deny == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.outputs["arn"], f"{bucket.outputs['arn']}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    assert part(run, PUBLIC, name, "public-access").urn in policy.dependencies
    assert (
        part(run, VERSIONING, name, "versioning").urn in part(run, LIFECYCLE, name, "lifecycle").dependencies
    )


@pytest.mark.infra
@pytest.mark.parametrize(("stack", "noncurrent_days"), [("dev", 7), ("prod", 90)])
def test_uploads_lifecycle_follows_config(stack: str, noncurrent_days: int) -> None:
    rules = rules_by_id(run_stack(stack).one(LIFECYCLE, f"nexus-{stack}-uploads-lifecycle"))
    assert set(rules) == {
        "abort-incomplete-multipart-uploads",
        "expire-noncurrent-versions",
        "remove-expired-delete-markers",
    }
    for rule in rules.values():
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {}
    abort = rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]
    assert abort == {"daysAfterInitiation": 7}
    noncurrent = rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]
    assert noncurrent == {"noncurrentDays": noncurrent_days}
    # Current versions of uploads are never expired by the lifecycle.
    assert "days" not in rules["remove-expired-delete-markers"]["expiration"]


@pytest.mark.infra
def test_buckets_are_protected_in_prod_only() -> None:
    assert run_stack("prod").one(BUCKET, "nexus-prod-uploads").protect is True
    assert run_stack("prod").one(BUCKET, "nexus-prod-alb-logs").protect is True
    assert run_stack("dev").one(BUCKET, "nexus-dev-uploads").protect is False


@pytest.mark.infra
def test_access_log_bucket_exists_only_when_configured() -> None:
    dev, prod = run_stack("dev"), run_stack("prod")
    assert not [b for b in dev.by_type(BUCKET) if "alb-logs" in b.name]
    assert "accessLogBucketName" not in dev.outputs
    logs = prod.one(BUCKET, "nexus-prod-alb-logs")
    assert prod.outputs["accessLogBucketName"] == logs.outputs["bucket"]


@pytest.mark.infra
def test_access_logs_are_delivered_by_the_regions_elb_account_and_expire() -> None:
    run = run_stack("prod")
    logs = run.one(BUCKET, "nexus-prod-alb-logs")
    document = json.loads(part(run, POLICY, "nexus-prod-alb-logs", "policy").inputs["policy"])
    (delivery,) = [s for s in document["Statement"] if s["Sid"] == "AllowElbLogDelivery"]
    assert delivery["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}  # us-east-1's ELB account
    assert delivery["Action"] == "s3:PutObject"
    # The account id comes from getCallerIdentity (the emulated account here); the prefix is the one the
    # load balancer writes under (ELB writes <bucket>/<prefix>/AWSLogs/<account>/...).
    prefix = run.one("aws:lb/loadBalancer:LoadBalancer").inputs["accessLogs"]["prefix"]
    assert delivery["Resource"] == f"{logs.outputs['arn']}/{prefix}/AWSLogs/{ACCOUNT_ID}/*"
    rules = rules_by_id(part(run, LIFECYCLE, "nexus-prod-alb-logs", "lifecycle"))
    assert rules["expire-current-versions"]["expiration"] == {"days": 365}


@pytest.mark.infra
def test_cors_is_added_only_from_config() -> None:
    assert not run_stack("dev").by_type(CORS)
    config = stack_config("dev")
    config["nexus:storage"] = {
        **config["nexus:storage"],
        "cors": {"allowedOrigins": ["https://app.example.com"], "maxAgeSeconds": 600},
    }
    run = run_stack(config, stack="dev")
    cors = run.one(CORS, "nexus-dev-uploads-cors")
    assert cors.inputs["bucket"] == run.one(BUCKET, "nexus-dev-uploads").outputs["bucket"]
    assert cors.inputs["corsRules"] == [
        {
            "id": "presigned-browser-access",
            "allowedOrigins": ["https://app.example.com"],
            "allowedMethods": ["GET", "PUT"],
            "allowedHeaders": ["Content-Type"],
            "exposeHeaders": ["ETag"],
            "maxAgeSeconds": 600,
        }
    ]
    # Adding CORS touches no other resource.
    before = {r.urn: r.inputs for r in run_stack("dev")}
    after = {r.urn: r.inputs for r in run}
    assert set(after) - set(before) == {cors.urn}
    assert all(after[urn] == inputs for urn, inputs in before.items())


# --- the workloads' policies over the real ARNs ------------------------------------------------------------


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_exported_policies_cover_the_bucket_and_every_shard_secret(stack: str) -> None:
    run = run_stack(stack)
    bucket = run.one(BUCKET, f"nexus-{stack}-uploads")
    assert run.outputs["uploadsBucketName"] == bucket.outputs["bucket"]
    assert run.outputs["uploadsBucketArn"] == bucket.outputs["arn"]
    # The pods may read the app role's secrets; the master secrets are the proxies' (and nobody else's).
    secrets = [s.outputs["arn"] for s in run.by_type(SECRET) if "-app-secret" in s.name]
    assert len(secrets) == 2  # shard-a and shard-b
    masters = [s.outputs["arn"] for s in run.by_type(SECRET) if "-master-secret" in s.name]
    assert len(masters) == 2
    assert not [
        arn
        for arn in masters
        if arn in run.outputs["apiPolicyDocument"] + run.outputs["workerPolicyDocument"]
    ]
    expected_api = api_policy_document(bucket_arn=bucket.outputs["arn"], db_secret_arns=secrets)
    expected_worker = worker_policy_document(bucket_arn=bucket.outputs["arn"], db_secret_arns=secrets)
    assert json.loads(run.outputs["apiPolicyDocument"]) == expected_api
    assert json.loads(run.outputs["workerPolicyDocument"]) == expected_worker


# --- policy rules: the S3 baseline fails on a broken graph --------------------------------------------------


def _baseline(resources: list[PolicyResource]) -> list[Violation]:
    return check_rule(next(r for r in RULES if r.name == "s3-bucket-baseline"), resources)


def _of(name: str, suffix: str) -> Any:
    return lambda r: r.name == f"{name}-{suffix}"


@pytest.mark.infra
@pytest.mark.parametrize(
    ("suffix", "inputs", "message"),
    [
        ("public-access", {"restrictPublicBuckets": False}, "all four blocks"),
        ("sse", {"rules": []}, "no default server-side encryption"),
        ("versioning", {"versioningConfiguration": {"status": "Suspended"}}, "versioning is not Enabled"),
        (
            "policy",
            {"policy": json.dumps({"Version": "2012-10-17", "Statement": []})},
            "does not deny requests without TLS",
        ),
        (
            "policy",
            {
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                )
            },
            "does not deny requests without TLS",
        ),
    ],
)
def test_s3_baseline_fails_on_each_missing_safeguard(
    suffix: str, inputs: dict[str, Any], message: str
) -> None:
    run = run_stack("prod")
    broken = graph_with_inputs(run, _of("nexus-prod-uploads", suffix), **inputs)
    (violation,) = _baseline(broken)
    assert violation.urn == run.one(BUCKET, "nexus-prod-uploads").urn
    assert message in violation.message


@pytest.mark.infra
def test_s3_baseline_fails_on_a_bucket_without_its_parts() -> None:
    run = run_stack("dev")
    parts = {OWNERSHIP, PUBLIC, SSE, VERSIONING, LIFECYCLE, POLICY}
    bare = [r for r in from_records(run) if r.type not in parts]
    (violation,) = _baseline(bare)
    for missing in (
        "no BucketPublicAccessBlock",
        "no default server-side encryption",
        "versioning is not Enabled",
        "no bucket policy",
    ):
        assert missing in violation.message


@pytest.mark.infra
@pytest.mark.parametrize(
    "match",
    [
        lambda r: r.name == "nexus-prod-uploads-policy",  # a bucket policy
        lambda r: r.name == "nexus-prod-workloads-api-policy",  # the API's inline role policy
        lambda r: r.name == "nexus-prod-workloads-worker-policy",  # the worker's inline role policy
    ],
    ids=["bucket-policy", "api-role-policy", "worker-role-policy"],
)
def test_star_on_star_rule_catches_a_widened_policy(match: Any) -> None:
    run = run_stack("prod")
    rule = next(r for r in RULES if r.name == "iam-no-star-on-star")
    assert check_rule(rule, from_records(run)) == []
    widened = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    broken = graph_with_inputs(run, match, policy=json.dumps(widened))
    (violation,) = check_rule(rule, broken)
    assert violation.urn == next(r.urn for r in from_records(run) if match(r))
