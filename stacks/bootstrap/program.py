"""The account bootstrap's composition (project ``nexus-bootstrap``, one stack per account: dev, prod).

What must exist before the main stack of an environment, and why it lives here rather than in that stack:
- the state bucket and the secrets key: the main stack's state and secrets live in them;
- the image repository: CI pushes the image before the main stack's first ``up`` deploys it by digest, so the
  first deploy never reads an output of a stack that does not exist yet;
- the GitHub OIDC provider and the CI roles: they run the main stack's previews and updates;
- the CodeBuild-hosted runner: CI jobs that talk to the private EKS endpoint run inside the main stack's VPC.

The runner is the one part that depends on the main stack (its VPC), so an account is bootstrapped in order,
each step a plain ``pulumi up`` (docs/operations.md, "The first deploy"): this stack without a runner; the
main stack's network alone (``pulumi up --target``, from a workstation: AWS APIs only); this stack again with
``nexus-bootstrap:runner.networkStack`` naming the main stack, which reads its ``vpcId`` and
``privateSubnetIds`` through a stack reference; then the main stack's full ``up`` from CI on that runner.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.bootstrap import CiRoleSpec, GitHubOidcRoles, GitHubOidcRolesArgs, StateBackend, StateBackendArgs
from infra.ci_policies import (
    POWER_USER_ACCESS,
    READ_ONLY_ACCESS,
    github_subjects,
    image_push_policy,
    image_read_policy,
    project_iam_policy,
    state_access_policy,
)
from infra.registry import ImageRepository, ImageRepositoryArgs
from infra.runner import RUNNER_LOG_GROUP_PREFIX, ActionsRunner, ActionsRunnerArgs, RunnerVpc
from stacks.bootstrap.config import BootstrapConfig, BootstrapError, load_bootstrap
from stacks.config.placeholders import find_placeholders

IMAGES_KEPT = 100
"""Tagged API images kept in ECR: one per merge to main, so about the last hundred merges stay deployable."""
PLACEHOLDER_WARNING = "placeholder: "
MAIN_BRANCH = "main"
PRODUCTION_ENVIRONMENT = "production"
"""The GitHub environment whose required reviewers gate prod (.github/workflows/deploy.yml)."""


def read_config() -> BootstrapConfig:
    """Read and validate config; a real ``up`` also refuses example values, a preview warns about them."""
    from pulumi.runtime.config import get_config_env

    raw = dict(get_config_env())
    try:
        config = load_bootstrap(raw)
    except BootstrapError as exc:
        raise pulumi.RunError("invalid stack config:\n  " + "\n  ".join(exc.problems)) from None
    placeholders = find_placeholders(raw)
    if placeholders and not pulumi.runtime.is_dry_run():
        raise pulumi.RunError(
            "stack config still holds example values (docs/operations.md, bootstrap):\n  "
            + "\n  ".join(placeholders)
        )
    for line in placeholders:
        pulumi.log.warn(f"{PLACEHOLDER_WARNING}{line}")
    return config


def role_specs(
    cfg: BootstrapConfig,
    *,
    account_id: pulumi.Output[str],
    state: StateBackend,
    repository_arn: pulumi.Output[str],
) -> list[CiRoleSpec]:
    """The CI roles of this account (docs/operations.md, "What the CI roles may do")."""
    repo = cfg.github.repository
    prefix = cfg.name_prefix

    def state_policy(*, write: bool) -> pulumi.Output[str]:
        return pulumi.Output.all(state.bucket_arn, state.key_arn).apply(
            lambda arns: json.dumps(
                state_access_policy(bucket_arn=arns[0], key_arn=arns[1], write_state=write), sort_keys=True
            )
        )

    def repository_policy(build: object) -> pulumi.Output[str]:
        return repository_arn.apply(lambda arn: json.dumps(build(repository_arn=arn), sort_keys=True))  # type: ignore[operator]

    deploy_iam = account_id.apply(
        lambda account: json.dumps(project_iam_policy(account_id=account, name_prefix=prefix), sort_keys=True)
    )
    if cfg.environment == "dev":
        return [
            # Pull requests of the repository itself (a fork's get no OIDC token): a read-only preview of dev.
            CiRoleSpec(
                key="preview",
                name=f"{prefix}-preview",
                subjects=tuple(github_subjects(repo, pull_requests=True, branch=None, environments=())),
                managed_policy_arns=(READ_ONLY_ACCESS,),
                inline_policies={"state": state_policy(write=False)},
            ),
            # The build job (a push to main, no environment) pushes the image; the dev job deploys.
            CiRoleSpec(
                key="deploy",
                name=f"{prefix}-deploy",
                subjects=tuple(
                    github_subjects(repo, pull_requests=False, branch=MAIN_BRANCH, environments=("dev",))
                ),
                managed_policy_arns=(POWER_USER_ACCESS,),
                inline_policies={
                    "state": state_policy(write=True),
                    "iam": deploy_iam,
                    "images": repository_policy(image_push_policy),
                },
            ),
            # The promotion job (a push to main) reads the digest that passed dev, to copy it into prod's.
            CiRoleSpec(
                key="image-read",
                name=f"{prefix}-image-read",
                subjects=tuple(
                    github_subjects(repo, pull_requests=False, branch=MAIN_BRANCH, environments=())
                ),
                inline_policies={"images": repository_policy(image_read_policy)},
            ),
        ]
    return [
        # No pull request reaches prod: its plan runs main's reviewed code, before the approval.
        CiRoleSpec(
            key="plan",
            name=f"{prefix}-plan",
            subjects=tuple(github_subjects(repo, pull_requests=False, branch=MAIN_BRANCH, environments=())),
            managed_policy_arns=(READ_ONLY_ACCESS,),
            inline_policies={"state": state_policy(write=False)},
        ),
        # Only a job in the approved `production` environment may change prod.
        CiRoleSpec(
            key="deploy",
            name=f"{prefix}-deploy",
            subjects=tuple(
                github_subjects(
                    repo, pull_requests=False, branch=None, environments=(PRODUCTION_ENVIRONMENT,)
                )
            ),
            managed_policy_arns=(POWER_USER_ACCESS,),
            inline_policies={"state": state_policy(write=True), "iam": deploy_iam},
        ),
        # The promotion job copies the tested digest into prod's repository (pushing deploys nothing).
        CiRoleSpec(
            key="image-push",
            name=f"{prefix}-image-push",
            subjects=tuple(github_subjects(repo, pull_requests=False, branch=MAIN_BRANCH, environments=())),
            inline_policies={"images": repository_policy(image_push_policy)},
        ),
    ]


def main() -> None:
    """Build the account's bootstrap."""
    cfg = read_config()
    provider = aws.Provider(
        "aws",
        region=cfg.region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={
                "Project": "nexus",
                "Environment": cfg.environment,
                "ManagedBy": "pulumi",
                "Stack": "bootstrap",
            }
        ),
    )
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    is_prod = cfg.environment == "prod"

    state = StateBackend(
        f"{cfg.name_prefix}-state",
        StateBackendArgs(
            key_alias=f"{cfg.name_prefix}-pulumi",
            region=cfg.region,
            account_id=account_id,
            protect=is_prod,
            # The runner's job logs are encrypted with the account's bootstrap key (one key, no extra cost).
            log_group_prefix=f"{RUNNER_LOG_GROUP_PREFIX}{cfg.name_prefix}-runner",
        ),
        opts=opts,
    )
    registry = ImageRepository(
        f"{cfg.name_prefix}-images", ImageRepositoryArgs(keep_images=IMAGES_KEPT, is_prod=is_prod), opts=opts
    )
    ci = GitHubOidcRoles(
        f"{cfg.name_prefix}-ci",
        GitHubOidcRolesArgs(
            existing_provider_arn=cfg.github.existing_oidc_provider_arn,
            roles=role_specs(cfg, account_id=account_id, state=state, repository_arn=registry.repository_arn),
        ),
        opts=opts,
    )
    runner_vpc = None
    if cfg.runner.network_stack:
        network = pulumi.StackReference(cfg.runner.network_stack)
        runner_vpc = RunnerVpc(
            vpc_id=network.require_output("vpcId"),
            subnet_ids=network.require_output("privateSubnetIds"),
        )
        runner = ActionsRunner(
            f"{cfg.name_prefix}-runner",
            ActionsRunnerArgs(
                project_name=f"{cfg.name_prefix}-runner",
                repository=cfg.github.repository,
                connection_arn=cfg.runner.connection_arn,
                compute_type=cfg.runner.compute_type,
                region=cfg.region,
                account_id=account_id,
                vpc=runner_vpc,
                log_kms_key_arn=state.key_arn,
            ),
            opts=opts,
        )
        pulumi.export("runnerProject", runner.project_name)
        pulumi.export("runnerLabel", runner.label)

    pulumi.export("environment", cfg.environment)
    pulumi.export("accountId", account_id)
    pulumi.export("backendUrl", state.backend_url)
    pulumi.export("secretsProvider", state.secrets_provider)
    pulumi.export("stateBucket", state.bucket_name)
    pulumi.export("ecrRepositoryUrl", registry.repository_url)
    pulumi.export("roleArns", ci.role_arns)
