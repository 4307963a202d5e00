"""Data-tier rules: RDS and RDS Proxy (encryption, TLS, protection, retention), ElastiCache, the S3 buckets'
baseline, and no data store reachable from the internet."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policy.core import (
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    as_int,
    effective_tags,
    is_prod,
    items_of,
)
from policy.network import LOAD_BALANCER_TYPES, WORLD_CIDRS, ingress_rules

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PROXY = "aws:rds/proxy:Proxy"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PROD_MIN_BACKUP_DAYS = 7
PUBLIC_ACCESS_FLAGS: tuple[str, ...] = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


SSE_ALGORITHMS: frozenset[str] = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})

# Data stores and the input that lists their security groups.
DATA_STORES: Mapping[str, str] = {
    RDS_INSTANCE: "vpcSecurityGroupIds",
    "aws:rds/cluster:Cluster": "vpcSecurityGroupIds",
    RDS_PROXY: "vpcSecurityGroupIds",
    REPLICATION_GROUP: "securityGroupIds",
    "aws:elasticache/cluster:Cluster": "securityGroupIds",
    "aws:elasticache/serverlessCache:ServerlessCache": "securityGroupIds",
    "aws:memorydb/cluster:Cluster": "securityGroupIds",
}


def _redis_encrypted_with_auth(graph: Graph) -> Iterator[Violation]:
    for group in graph.by_type(REPLICATION_GROUP):
        inputs = group.inputs
        problems = []
        if inputs.get("atRestEncryptionEnabled") is not True:
            problems.append("atRestEncryptionEnabled is not true")
        if inputs.get("transitEncryptionEnabled") is not True:
            problems.append("transitEncryptionEnabled is not true")
        if inputs.get("transitEncryptionMode", "required") != "required":
            problems.append(
                f"transitEncryptionMode is {inputs.get('transitEncryptionMode')!r}, not 'required'"
            )
        # A write-only token (authTokenWo) never reaches state, which is what the policy pack sees; the
        # provider accepts authTokenWoVersion only together with it, so the version stands for the token.
        auth = ("authToken", "authTokenWo", "authTokenWoVersion", "userGroupIds")
        if not any(inputs.get(key) for key in auth):
            problems.append("no AUTH token (authToken/authTokenWo) and no RBAC user group")
        if problems:
            yield Violation(
                "redis-encrypted-with-auth",
                group.urn,
                "; ".join(problems) + ": ElastiCache must encrypt at rest and in transit (required mode) "
                "and demand AUTH",
            )


def _bucket_parts(graph: Graph, type_: str) -> dict[str, list[PolicyResource]]:
    """Bucket URN -> the resources of ``type_`` that configure it (through their ``bucket`` input)."""
    parts: dict[str, list[PolicyResource]] = {}
    for part in graph.by_type(type_):
        for bucket in graph.referenced(part, "bucket"):
            parts.setdefault(bucket.urn, []).append(part)
    return parts


def _known_document(value: Any) -> dict[str, Any] | None:
    """A policy input as a dict; None when it is not known yet (a preview before the bucket exists)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}
    return None


def denies_insecure_transport(document: Mapping[str, Any]) -> bool:
    """Whether a bucket policy denies every S3 action to everyone when ``aws:SecureTransport`` is false."""
    for statement in items_of(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (
            isinstance(principal, Mapping) and items_of(principal.get("AWS")) == ["*"]
        )
        all_actions = {"s3:*", "*"} & set(items_of(statement.get("Action")))
        resources = items_of(statement.get("Resource"))
        covers_objects = any(str(r).endswith("/*") for r in resources) and any(
            not str(r).endswith("/*") for r in resources
        )
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        insecure = str(condition.get("aws:SecureTransport", "")).lower() == "false"
        if everyone and all_actions and covers_objects and insecure:
            return True
    return False


def _bucket_problems(
    blocks: list[PolicyResource],
    encryption: list[PolicyResource],
    versioning: list[PolicyResource],
    policies: list[PolicyResource],
) -> list[str]:
    problems = []
    if not any(all(block.inputs.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS) for block in blocks):
        problems.append("no BucketPublicAccessBlock with all four blocks on")
    algorithms = {
        str(((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
        for part in encryption
        for rule in items_of(part.inputs.get("rules"))
    }
    if not algorithms & SSE_ALGORITHMS:
        problems.append("no default server-side encryption (BucketServerSideEncryptionConfiguration)")
    if not any(
        (part.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled" for part in versioning
    ):
        problems.append("versioning is not Enabled (BucketVersioning)")
    documents = [_known_document(part.inputs.get("policy")) for part in policies]
    if not policies:
        problems.append("no bucket policy denying requests without TLS")
    elif all(doc is not None for doc in documents) and not any(
        denies_insecure_transport(doc) for doc in documents if doc is not None
    ):
        problems.append("the bucket policy does not deny requests without TLS (aws:SecureTransport false)")
    return problems


def _s3_bucket_baseline(graph: Graph) -> Iterator[Violation]:
    blocks = _bucket_parts(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    encryption = _bucket_parts(
        graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    versioning = _bucket_parts(graph, "aws:s3/bucketVersioning:BucketVersioning")
    policies = _bucket_parts(graph, S3_BUCKET_POLICY)
    for bucket in graph.by_type(S3_BUCKET):
        problems = _bucket_problems(
            blocks.get(bucket.urn, []),
            encryption.get(bucket.urn, []),
            versioning.get(bucket.urn, []),
            policies.get(bucket.urn, []),
        )
        if problems:
            yield Violation("s3-bucket-baseline", bucket.urn, "; ".join(problems))


def _cidrs(cidrs: Iterable[str]) -> str:
    return ", ".join(sorted(set(cidrs)))


def _no_world_data_store(graph: Graph) -> Iterator[Violation]:
    world_groups: dict[str, list[str]] = {}
    for ingress in ingress_rules(graph):
        world = sorted(set(ingress.cidrs) & WORLD_CIDRS)
        for group_urn in ingress.group_urns if world else ():
            world_groups.setdefault(group_urn, []).extend(world)
    for type_, prop in DATA_STORES.items():
        for store in graph.by_type(type_):
            groups = graph.referenced(store, prop, items_of(store.inputs.get(prop)))
            if store.inputs.get("publiclyAccessible") is True:
                yield Violation(
                    "no-world-data-store", store.urn, "publiclyAccessible is true; data stores stay private"
                )
            if not groups:
                yield Violation(
                    "no-world-data-store",
                    store.urn,
                    f"no security group in {prop}: the VPC's default group would apply; give it its own "
                    "group that admits only the workload group",
                )
            for group in groups:
                if group.urn in world_groups:
                    yield Violation(
                        "no-world-data-store",
                        store.urn,
                        f"its security group {group.name} admits {_cidrs(world_groups[group.urn])}; a data "
                        "store admits only security groups (the workload group, the proxy's group)",
                    )


def _rds_encrypted_private(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        problems = []
        if instance.inputs.get("storageEncrypted") is not True:
            problems.append("storage is not encrypted (storage_encrypted=True)")
        if instance.inputs.get("publiclyAccessible") is True:
            problems.append("it is publicly accessible (publicly_accessible=False)")
        if instance.inputs.get("manageMasterUserPassword") is True:
            problems.append(
                "its master password is RDS-managed, which forbids read replicas (generate it and keep it "
                "in the shard's own secret)"
            )
        if problems:
            yield Violation("rds-encrypted-private", instance.urn, "; ".join(problems))


def _rds_proxy_requires_tls(graph: Graph) -> Iterator[Violation]:
    for proxy in graph.by_type(RDS_PROXY):
        if proxy.inputs.get("requireTls") is not True:
            yield Violation(
                "rds-proxy-requires-tls",
                proxy.urn,
                "the proxy accepts clients without TLS (require_tls=True); passwords would cross the VPC "
                "in the clear",
            )


def _prod_rds_protected(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        if effective_tags(graph, instance).get("Environment") != "prod":
            continue
        missing = []
        if not instance.protect:
            missing.append("the protect option")
        if instance.inputs.get("deletionProtection") is not True:
            missing.append("RDS deletion protection (deletion_protection=True)")
        if missing:
            yield Violation(
                "prod-rds-protected",
                instance.urn,
                f"a prod database lacks {' and '.join(missing)}; a removed shard entry or a mistaken "
                "destroy would delete its data",
            )


def _parameters(group: PolicyResource) -> dict[str, str]:
    return {
        str(item.get("name")): str(item.get("value"))
        for item in items_of(group.inputs.get("parameters"))
        if isinstance(item, Mapping)
    }


def _rds_requires_tls(graph: Graph) -> Iterator[Violation]:
    # Reads reach the replicas directly (RDS Proxy can only front the writer of RDS for PostgreSQL), so
    # only the instance's own parameter group can refuse a client without TLS.
    for instance in graph.by_type(RDS_INSTANCE):
        groups = [
            g for g in graph.referenced(instance, "parameterGroupName") if g.type == RDS_PARAMETER_GROUP
        ]
        if not groups:
            yield Violation(
                "rds-requires-tls",
                instance.urn,
                "no parameter group of the stack: set one with rds.force_ssl=1, so that clients reaching "
                "the instance directly (the replicas) must use TLS",
            )
            continue
        for group in groups:
            if _parameters(group).get("rds.force_ssl") != "1":
                yield Violation(
                    "rds-requires-tls",
                    instance.urn,
                    f"its parameter group {group.name} does not set rds.force_ssl=1: clients could connect "
                    "without TLS",
                )


def _is_replica(instance: PolicyResource) -> bool:
    return bool(instance.inputs.get("replicateSourceDb")) or bool(
        instance.property_dependencies.get("replicateSourceDb")
    )


def _prod_data_retained(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        # Replicas are rebuilt from their primary; its backups are the ones that matter. At a first preview
        # the source's identifier is still unknown, so the dependency on it is what marks a replica.
        if not is_prod(graph, instance) or _is_replica(instance):
            continue
        problems = []
        backups = as_int(instance.inputs.get("backupRetentionPeriod"))
        if backups < PROD_MIN_BACKUP_DAYS:
            problems.append(f"backups kept {backups} days (at least {PROD_MIN_BACKUP_DAYS})")
        if instance.inputs.get("skipFinalSnapshot") is not False or not instance.inputs.get(
            "finalSnapshotIdentifier"
        ):
            problems.append("no final snapshot on deletion (skip_final_snapshot=False with an identifier)")
        if problems:
            yield Violation("prod-data-retained", instance.urn, "; ".join(problems))
    for group in graph.by_type(REPLICATION_GROUP):
        if not is_prod(graph, group):
            continue
        problems = []
        if not group.protect:
            problems.append("the protect option")
        if as_int(group.inputs.get("snapshotRetentionLimit")) < 1:
            problems.append("daily snapshots (snapshot_retention_limit >= 1)")
        if not group.inputs.get("finalSnapshotIdentifier"):
            problems.append("a final snapshot (final_snapshot_identifier)")
        if problems:
            lacks = ", ".join(problems)
            yield Violation("prod-data-retained", group.urn, f"a prod Redis group lacks {lacks}")
    for bucket in graph.by_type(S3_BUCKET):
        if not is_prod(graph, bucket):
            continue
        if not bucket.protect or bucket.inputs.get("forceDestroy") is True:
            yield Violation(
                "prod-data-retained",
                bucket.urn,
                "a prod bucket needs the protect option and no force_destroy: a destroy would empty it",
            )


# --- the ALB's access-log bucket (issue 14 item 3) ----------------------------------------------------------

# Source: the ELB user guide, "Access logs for your Application Load Balancer"
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html, "Bucket
# permissions" and "Enable access logging"): logs go to bucket[/prefix]/AWSLogs/<account id>/..., the bucket
# policy grants s3:PutObject on arn:aws:s3:::bucket/prefix/AWSLogs/<account id>/*, and on enabling logging ELB
# writes prefix/AWSLogs/<account id>/ELBAccessLogTestFile to check it; without the grant the load balancer's
# create fails with "Access Denied for bucket". The rule compares prefixes; the principal is golden-tested.
ELB_TEST_FILE = "ELBAccessLogTestFile"
_ACCOUNT_IN_KEY = re.compile(r"AWSLogs/(\d{12})/")


def iam_pattern(pattern: str) -> re.Pattern[str]:
    """An IAM resource or action pattern as a regex: ``*`` matches any run of characters, ``?`` one."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _puts_on(statement: Mapping[str, Any]) -> list[str]:
    """The object-key patterns an Allow statement lets someone s3:PutObject on (bucket part dropped)."""
    if statement.get("Effect") != "Allow":
        return []
    if not any(iam_pattern(str(a)).fullmatch("s3:PutObject") for a in items_of(statement.get("Action"))):
        return []
    keys = []
    for resource in items_of(statement.get("Resource")):
        _, sep, key = str(resource).partition("/")
        if str(resource).startswith("arn:") and ":s3:::" in str(resource) and sep:
            keys.append(key)
    return keys


def elb_access_log_test_key(prefix: str, key_pattern: str) -> str:
    """The key ELB test-writes under a prefix, for the account the grant names (any if it names none)."""
    found = _ACCOUNT_IN_KEY.search(key_pattern)
    account = found.group(1) if found else "000000000000"
    return f"{prefix.strip('/')}/AWSLogs/{account}/{ELB_TEST_FILE}".lstrip("/")


def _alb_access_logs_granted(graph: Graph) -> Iterator[Violation]:
    for balancer in graph.by_type(*LOAD_BALANCER_TYPES):
        logs = balancer.inputs.get("accessLogs")
        if not isinstance(logs, Mapping) or logs.get("enabled") is not True:
            continue
        prefix = str(logs.get("prefix") or "")
        buckets = [
            b for b in graph.referenced(balancer, "accessLogs", logs.get("bucket")) if b.type == S3_BUCKET
        ]
        if not buckets:
            continue  # a bucket outside the stack: its policy is not visible here
        bucket_urns = {bucket.urn for bucket in buckets}
        policies = [
            policy
            for policy in graph.by_type(S3_BUCKET_POLICY)
            if bucket_urns & {found.urn for found in graph.referenced(policy, "bucket")}
        ]
        documents = [_known_document(policy.inputs.get("policy")) for policy in policies]
        if any(document is None for document in documents):
            continue  # not known yet (a first preview): nothing to compare
        patterns = [
            key
            for document in documents
            for statement in items_of((document or {}).get("Statement"))
            if isinstance(statement, Mapping)
            for key in _puts_on(statement)
        ]
        if any(iam_pattern(key).fullmatch(elb_access_log_test_key(prefix, key)) for key in patterns):
            continue
        granted = ", ".join(sorted(patterns)) or "nothing"
        yield Violation(
            "alb-access-log-prefix-granted",
            balancer.urn,
            f"the ALB writes its access logs under '{prefix}/AWSLogs/<account>/' (and test-writes "
            f"{ELB_TEST_FILE} there when logging is turned on), but the log bucket's policy lets ELB put "
            f"objects only on: {granted}; the create would fail with 'Access Denied for bucket'",
        )


DATA_RULES: list[PolicyRule] = [
    PolicyRule(
        "redis-encrypted-with-auth",
        "Every ElastiCache replication group encrypts at rest and in transit (required mode) and "
        "demands AUTH.",
        _redis_encrypted_with_auth,
    ),
    PolicyRule(
        "s3-bucket-baseline",
        "Every S3 bucket blocks public access (all four blocks), encrypts by default, is versioned and has a "
        "policy that denies requests without TLS.",
        _s3_bucket_baseline,
    ),
    PolicyRule(
        "no-world-data-store",
        "No data store (RDS, RDS Proxy, ElastiCache, MemoryDB) is publicly accessible, lacks its own "
        "security group, or sits in a group that admits 0.0.0.0/0 or ::/0 on any port.",
        _no_world_data_store,
    ),
    PolicyRule(
        "rds-encrypted-private",
        "Every RDS instance is encrypted at rest, not publicly accessible, and has a generated (not "
        "RDS-managed) master password.",
        _rds_encrypted_private,
    ),
    PolicyRule(
        "rds-proxy-requires-tls",
        "Every RDS Proxy requires TLS from its clients.",
        _rds_proxy_requires_tls,
    ),
    PolicyRule(
        "rds-requires-tls",
        "Every RDS instance uses a parameter group of the stack with rds.force_ssl=1 (the replicas are "
        "reached directly, not through the proxy).",
        _rds_requires_tls,
    ),
    PolicyRule(
        "prod-rds-protected",
        "In prod, every RDS instance has protect=True and deletion protection.",
        _prod_rds_protected,
    ),
    PolicyRule(
        "prod-data-retained",
        "In prod, RDS primaries keep 7+ days of backups and a final snapshot; Redis groups are protected "
        "with daily and final snapshots; buckets are protected and never force-destroyed.",
        _prod_data_retained,
    ),
    PolicyRule(
        "alb-access-log-prefix-granted",
        "A load balancer's access-log prefix is one the log bucket's policy lets ELB write under "
        "(<prefix>/AWSLogs/<account>/), or its create fails with 'Access Denied for bucket'.",
        _alb_access_logs_granted,
    ),
]
