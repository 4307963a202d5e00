"""Plans broken on purpose, to show that each judge fails on what it must catch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from judges.plan import Plan, PlanResource

BROKEN_STACK = "broken"
OPTIONS_PLAN = "prod-options"
"""The prod stack with every optional feature on, so that the types only options create are judged too."""


def stack_names() -> list[str]:
    """Every stack of the project (``Pulumi.<stack>.yaml``)."""
    from tests.support.harness import STACK_FILES

    return [path.name[len("Pulumi.") : -len(".yaml")] for path in STACK_FILES]


def bootstrap_names() -> list[str]:
    """Every stack of the account bootstrap as the judges name it (``bootstrap-<stack>``)."""
    from judges.plan import BOOTSTRAP_PREFIX, judged_stacks
    from tests.support.harness import PROJECT_DIR

    return [name for name in judged_stacks(PROJECT_DIR) if name.startswith(BOOTSTRAP_PREFIX)]


RUNNER_SUFFIX = "-runner"
"""``bootstrap-<stack>-runner``: the bootstrap with its CodeBuild runner (``runner.networkStack`` naming the
main stack, whose outputs answer the StackReference as in stacks/bootstrap/preview.py). The checked-in
stack files have no runner yet, so ``make cfn-lint``/``make checkov`` judge the CodeBuild types only here."""


def runner_names() -> list[str]:
    """The runner variant of every bootstrap stack."""
    return [name + RUNNER_SUFFIX for name in bootstrap_names()]


def judged_names() -> list[str]:
    """Every plan the session judges (besides the broken ones)."""
    return [*stack_names(), OPTIONS_PLAN, *bootstrap_names(), *runner_names()]


def bootstrap_run(name: str) -> Any:
    """The offline run of ``bootstrap-<stack>`` or ``bootstrap-<stack>-runner`` (a StackRun)."""
    from judges.plan import BOOTSTRAP_PREFIX
    from tests.support.harness import bootstrap_config, run_bootstrap, run_stack

    stack = name.removeprefix(BOOTSTRAP_PREFIX).removesuffix(RUNNER_SUFFIX)
    if not name.endswith(RUNNER_SUFFIX):
        return run_bootstrap(stack)
    network = f"organization/nexus/{stack}"
    config = bootstrap_config(stack)
    config["nexus-bootstrap:runner"]["networkStack"] = network
    return run_bootstrap(stack, config, stack_outputs={network: run_stack(stack).raw.outputs})


def options_config() -> dict[str, Any]:
    """Pulumi.prod.yaml's config plus the options no checked-in stack turns on (a second admin, CORS)."""
    import yaml

    from tests.support.harness import PROJECT_DIR

    config: dict[str, Any] = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())["config"]
    config["nexus:cluster"]["adminRoleArns"] += ["arn:aws:iam::123456789012:role/platform-admin"]
    config.setdefault("nexus:storage", {})["cors"] = {"allowedOrigins": ["https://app.example.com"]}
    return config


@dataclass(frozen=True)
class Break:
    """One deliberate mistake: which resource, what changes, and what the judge must say."""

    what: str
    type: str
    name_suffix: str
    edit: Callable[[PlanResource], PlanResource | None]
    """The changed resource, or None to remove it from the plan."""
    rule: str
    """The judge's rule id (cfn-lint) or check id (checkov) that must fire."""
    path: str
    """Property path of the finding (cfn-lint), or "" (checkov reports whole resources)."""
    base: str = "prod"
    """The plan the break is made in."""

    @property
    def stack(self) -> str:
        """The broken plan's name: ``broken`` for prod's, ``broken-<base>`` otherwise."""
        return BROKEN_STACK if self.base == "prod" else f"{BROKEN_STACK}-{self.base}"


def _with(
    inputs: Mapping[str, Any] | None = None, drop: tuple[str, ...] = (), **state: Any
) -> Callable[..., Any]:
    def edit(resource: PlanResource) -> PlanResource:
        new_inputs = {k: v for k, v in {**resource.inputs, **(inputs or {})}.items() if k not in drop}
        new_state = {k: v for k, v in {**resource.state, **(inputs or {}), **state}.items() if k not in drop}
        return dataclasses.replace(resource, inputs=new_inputs, state=new_state)

    return edit


CFN_BREAKS = (
    Break(
        "a physical name over its limit (RDS identifiers: 63)",
        "aws:rds/instance:Instance",
        "shard-a-primary",
        _with(identifier="nexus-prod-" + "a" * 53 + "-1234567"),
        "E3033",
        "DBInstanceIdentifier",
    ),
    Break(
        "a value outside a documented enum (CloudWatch Logs retention days)",
        "aws:cloudwatch/logGroup:LogGroup",
        "cluster-logs",
        _with({"retentionInDays": 42}),
        "E3030",
        "RetentionInDays",
    ),
    Break(
        "a missing required property (an EKS cluster's role)",
        "aws:eks/cluster:Cluster",
        "cluster-eks",
        _with(drop=("roleArn",)),
        "E3003",
        "",
    ),
    Break(
        "a character the field does not take (an apostrophe in a security group description)",
        "aws:ec2/securityGroup:SecurityGroup",
        "alb-sg",
        _with({"description": "the ALB's group"}),
        "E3031",
        "GroupDescription",
    ),
)


def broken_plan(plan: Plan, breaks: tuple[Break, ...], stack: str = BROKEN_STACK) -> Plan:
    """``plan`` with every break applied (each must match exactly one resource)."""
    resources = list(plan.resources)
    for broken in breaks:
        matches = [
            index
            for index, resource in enumerate(resources)
            if resource.type == broken.type and resource.name.endswith(broken.name_suffix)
        ]
        assert len(matches) == 1, f"{broken.what}: {len(matches)} resources match"
        edited = broken.edit(resources[matches[0]])
        if edited is None:
            del resources[matches[0]]
        else:
            resources[matches[0]] = edited
    return dataclasses.replace(plan, stack=stack, resources=tuple(resources))


def broken_cfn_plan(plan: Plan) -> Plan:
    """The prod plan with every CloudFormation break."""
    return broken_plan(plan, CFN_BREAKS)


def _remove(resource: PlanResource) -> None:
    return None


CHECKOV_BREAKS = (
    Break(
        "the S3 public access block removed (uploads bucket)",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "uploads-public-access",
        _remove,
        "CKV2_AWS_6",
        "aws_s3_bucket.nexus-prod-uploads",
    ),
    Break(
        "DB storage encryption turned off (a shard primary)",
        "aws:rds/instance:Instance",
        "shard-a-primary",
        _with({"storageEncrypted": False}),
        "CKV_AWS_16",
        "aws_db_instance.nexus-prod-shard-a-primary",
    ),
    Break(
        "a DB instance made publicly accessible (a shard primary)",
        "aws:rds/instance:Instance",
        "shard-b-primary",
        _with({"publiclyAccessible": True}),
        "CKV_AWS_17",
        "aws_db_instance.nexus-prod-shard-b-primary",
    ),
    Break(
        "cache encryption at rest turned off",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "prod-cache",
        _with({"atRestEncryptionEnabled": False}),
        "CKV_AWS_29",
        "aws_elasticache_replication_group.nexus-prod-cache",
    ),
)


def broken_checkov_plan(plan: Plan) -> Plan:
    """The prod plan with every checkov break."""
    return broken_plan(plan, CHECKOV_BREAKS)


BOOTSTRAP_CHECKOV_BREAKS = (
    Break(
        "rotation turned off on the bootstrap's secrets key",
        "aws:kms/key:Key",
        "state-secrets-key",
        _with({"enableKeyRotation": False}),
        "CKV_AWS_7",
        "aws_kms_key.nexus-prod-state-secrets-key",
        base="bootstrap-prod",
    ),
    Break(
        "mutable image tags in the image repository",
        "aws:ecr/repository:Repository",
        "images-repo",
        _with({"imageTagMutability": "MUTABLE"}),
        "CKV_AWS_51",
        "aws_ecr_repository.nexus-prod-images-repo",
        base="bootstrap-prod",
    ),
    Break(
        "the state bucket's public access block removed",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "state-bucket-public-access",
        _remove,
        "CKV2_AWS_6",
        "aws_s3_bucket.nexus-prod-state-bucket",
        base="bootstrap-prod",
    ),
)


def broken_bootstrap_plan(plan: Plan) -> Plan:
    """The bootstrap-prod plan with every bootstrap checkov break."""
    return broken_plan(plan, BOOTSTRAP_CHECKOV_BREAKS, stack=BOOTSTRAP_CHECKOV_BREAKS[0].stack)
