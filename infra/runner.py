"""A CodeBuild-hosted GitHub Actions runner: the managed way for CI jobs to run inside a stack's VPC.

CodeBuild starts one ephemeral build per queued GitHub Actions job whose ``runs-on`` carries the label
``codebuild-<project name>-${{ github.run_id }}-${{ github.run_attempt }}``, registers it as a
self-hosted runner for that job only, runs the job and discards the machine (CodeBuild user guide,
"Self-hosted GitHub Actions runners in AWS CodeBuild" and "Label overrides supported with the
CodeBuild-hosted GitHub Actions runner"). The project's webhook listens for the ``WORKFLOW_JOB_QUEUED``
event (pulumi-aws codebuild/webhook.py, "For CodeBuild Runner Project"), and its GitHub access is a
CodeConnections connection (``source.auth`` type ``CODECONNECTIONS``, pulumi-aws codebuild
``ProjectSourceAuthArgs``) that an account admin authorises once.

In a VPC (``vpc`` set), builds get network interfaces in the given private subnets: their traffic to GitHub,
PyPI and AWS leaves through the VPC's NAT gateways, and the EKS endpoint's private addresses are reachable
because the cluster security group admits the VPC's CIDR (``nexus:cluster.apiAccess``). Without ``vpc`` the
project runs on CodeBuild's own network, which reaches AWS APIs but no private endpoint.

Nothing else runs on it: there is no idle machine to patch, and each job starts from a clean image.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.ci_policies import runner_service_policy, service_trust_policy

RUNNER_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
"""A CodeBuild curated image (Python 3.11+ via its runtimes, the AWS CLI v2 and Docker): CodeBuild user guide,
"Docker images provided by CodeBuild"."""
LOG_RETENTION_DAYS = 90
RUNNER_LOG_GROUP_PREFIX = "/aws/codebuild/"
"""Where CodeBuild writes a project's logs by default (``/aws/codebuild/<project name>``)."""


@dataclass(frozen=True, kw_only=True)
class RunnerVpc:
    """Where the builds run."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets with a NAT route (the builds reach GitHub)."""


@dataclass(frozen=True, kw_only=True)
class ActionsRunnerArgs:
    """Inputs of an ActionsRunner."""

    project_name: str
    """The CodeBuild project's name, explicit: the workflows' ``runs-on`` label carries it."""
    repository: str
    """``<owner>/<repository>`` on GitHub."""
    connection_arn: str
    """The CodeConnections connection to GitHub (authorised once in the console)."""
    compute_type: str
    region: str
    account_id: pulumi.Input[str]
    vpc: RunnerVpc | None
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of the job logs (its policy lets CloudWatch Logs use it for this log group); None: the log
    group is encrypted by CloudWatch Logs' own keys."""


class ActionsRunner(pulumi.ComponentResource):
    """A CodeBuild project with a WORKFLOW_JOB_QUEUED webhook, its service role, log group and security
    group."""

    project_name: pulumi.Output[str]
    label: str
    """The ``runs-on`` label prefix: ``codebuild-<project name>``."""
    security_group_id: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ActionsRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:bootstrap:ActionsRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # CodeBuild writes to /aws/codebuild/<project> by default; owning the group sets its retention.
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"{RUNNER_LOG_GROUP_PREFIX}{args.project_name}",
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=args.log_kms_key_arn,
            opts=child,
        )
        vpc_config = None
        subnet_arns: pulumi.Output[list[str]] = pulumi.Output.from_input([])
        self.security_group_id = None
        if args.vpc is not None:
            group = aws.ec2.SecurityGroup(
                f"{name}-sg",
                description="CodeBuild-hosted GitHub Actions runner: outbound HTTPS only",
                vpc_id=args.vpc.vpc_id,
                egress=[
                    aws.ec2.SecurityGroupEgressArgs(
                        description="GitHub, PyPI, AWS APIs and the EKS endpoint",
                        protocol="tcp",
                        from_port=443,
                        to_port=443,
                        cidr_blocks=["0.0.0.0/0"],
                    )
                ],
                opts=child,
            )
            self.security_group_id = group.id
            vpc_config = aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args.vpc.vpc_id, subnets=args.vpc.subnet_ids, security_group_ids=[group.id]
            )
            subnet_arns = pulumi.Output.all(args.account_id, args.vpc.subnet_ids).apply(
                lambda values: [
                    f"arn:aws:ec2:{args.region}:{values[0]}:subnet/{subnet}" for subnet in values[1]
                ]
            )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(service_trust_policy("codebuild.amazonaws.com"), sort_keys=True),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(logs.arn, args.account_id, subnet_arns).apply(
                lambda values: json.dumps(
                    runner_service_policy(
                        log_group_arn=values[0],
                        connection_arn=args.connection_arn,
                        region=args.region,
                        account_id=values[1],
                        subnet_arns=values[2],
                    ),
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        project = aws.codebuild.Project(
            f"{name}-project",
            name=args.project_name,
            description=f"GitHub Actions runner of {args.repository} (codebuild-{args.project_name}-...)",
            service_role=role.arn,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=f"https://github.com/{args.repository}.git",
                auth=aws.codebuild.ProjectSourceAuthArgs(
                    type="CODECONNECTIONS", resource=args.connection_arn
                ),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=args.compute_type,
                image=RUNNER_IMAGE,
                image_pull_credentials_type="CODEBUILD",
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=logs.name
                )
            ),
            build_timeout=120,
            vpc_config=vpc_config,
            # The role's policy must exist before the project uses the role to create network interfaces.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=project.name,
            build_type="BUILD",
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[
                        aws.codebuild.WebhookFilterGroupFilterArgs(
                            type="EVENT", pattern="WORKFLOW_JOB_QUEUED"
                        )
                    ]
                )
            ],
            opts=child,
        )
        self.project_name = project.name
        self.label = f"codebuild-{args.project_name}"
        self.register_outputs({"projectName": self.project_name, "label": self.label})
