"""IAM documents of an account's bootstrap: who may assume the CI roles, and what each may do. Pure dicts.

Sources:
- GitHub's OIDC tokens: issuer ``https://token.actions.githubusercontent.com``, audience ``sts.amazonaws.com``
  when requested by ``aws-actions/configure-aws-credentials``, and ``sub`` claims ``repo:<owner>/<repo>:
  pull_request``, ``repo:<owner>/<repo>:ref:refs/heads/<branch>`` and ``repo:<owner>/<repo>:environment:
  <name>`` (a job that names an environment gets the environment form, whatever its branch) - GitHub docs,
  "About security hardening with OpenID Connect", "Example subject claims"; the trust condition keys
  ``token.actions.githubusercontent.com:aud`` / ``:sub`` - GitHub docs, "Configuring OpenID Connect in Amazon
  Web Services", and the IAM user guide, "Creating a role for web identity or OIDC".
- A Pulumi DIY backend in S3 reads and writes the stack's checkpoint under ``.pulumi/stacks/``, its history
  and backups under ``.pulumi/history/`` and ``.pulumi/backups/``, and takes the stack lock as an object under
  ``.pulumi/locks/`` (pulumi/pulumi pkg/backend/diy: ``StacksDir``, ``HistoriesDir``, ``BackupsDir`` and
  ``lockDir`` in backend.go / lock.go), so a preview (which locks the stack) writes there too.
- A CodeBuild project that runs in a VPC creates network interfaces in its subnets; its service role needs the
  EC2 permissions of the CodeBuild user guide's "Allow CodeBuild access to AWS services required to create a
  VPC network interface" (auth-and-access-control-iam-identity-based-access-control.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

POLICY_VERSION: Final = "2012-10-17"
GITHUB_OIDC_HOST: Final = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL: Final = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE: Final = "sts.amazonaws.com"
READ_ONLY_ACCESS: Final = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER_ACCESS: Final = "arn:aws:iam::aws:policy/PowerUserAccess"
"""Every service but IAM, Organizations and Account management (AWS managed policy reference)."""

Document = dict[str, Any]


def _document(statements: Sequence[dict[str, Any]]) -> Document:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def github_subjects(
    repository: str, *, pull_requests: bool, branch: str | None, environments: Sequence[str]
) -> list[str]:
    """The ``sub`` claims a role trusts: pull requests of the repository itself, pushes to one branch (jobs
    without an environment), and jobs that run in the named environments."""
    if repository.count("/") != 1:
        raise ValueError(f"{repository!r} is not <owner>/<repository>")
    subjects = [f"repo:{repository}:pull_request"] if pull_requests else []
    if branch is not None:
        subjects.append(f"repo:{repository}:ref:refs/heads/{branch}")
    subjects += [f"repo:{repository}:environment:{name}" for name in environments]
    if not subjects:
        raise ValueError("a CI role must trust at least one subject")
    return subjects


def github_trust_policy(*, provider_arn: str, subjects: Sequence[str]) -> Document:
    """AssumeRoleWithWebIdentity for GitHub's tokens with exactly these subjects (no wildcard: a ``*`` in a
    ``sub`` would let any branch or any pull request assume the role)."""
    if any("*" in subject for subject in subjects):
        raise ValueError("subjects are pinned exactly, without wildcards")
    return _document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": sorted(subjects),
                    }
                },
            }
        ]
    )


def service_trust_policy(service: str) -> Document:
    """sts:AssumeRole for an AWS service principal (CodeBuild for the runner's service role)."""
    return _document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def state_access_policy(*, bucket_arn: str, key_arn: str, write_state: bool) -> Document:
    """The state bucket and the secrets key. Every role takes the lock (a preview does too) and decrypts
    (the engine decrypts the stack's secrets to run the program); only deploy roles write checkpoints."""
    objects = [f"{bucket_arn}/.pulumi/locks/*"]
    if write_state:
        objects = [f"{bucket_arn}/.pulumi/*"]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write_state:
        key_actions = [*key_actions, "kms:Encrypt", "kms:GenerateDataKey"]
    return _document(
        [
            {
                "Sid": "ListState",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "ReadState",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"{bucket_arn}/.pulumi/*",
            },
            {
                "Sid": "WriteState",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": objects,
            },
            {"Sid": "SecretsKey", "Effect": "Allow", "Action": key_actions, "Resource": key_arn},
        ]
    )


BOOTSTRAP_ROLE_KEYS: Final = ("preview", "plan", "deploy", "image-read", "image-push", "runner-*")
"""The bootstrap's own roles (``<name_prefix>-<key>``): no deploy role may change them, its own included."""


PROJECT_IAM_ACTIONS = (
    # Roles: create, update, tag, delete (a delete first removes the role from its instance profiles and
    # detaches and deletes its policies) - terraform-provider-aws internal/service/iam/role.go.
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PassRole",
    # Inline and managed policies of a role (role_policy.go, role_policy_attachment.go).
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    # Customer managed policies and their versions (policy.go).
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
    # Instance profiles (instance_profile.go).
    "iam:CreateInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:UntagInstanceProfile",
)
"""What the deploy role may do to the project's own roles, policies and instance profiles: the calls the
provider makes for them (the reads are ``ReadIam``), named one by one rather than ``iam:*``, so that nothing
else (users, access keys, login profiles, permissions boundaries of other principals) is ever in reach."""


def project_iam_policy(*, account_id: str, name_prefix: str) -> Document:
    """IAM for the deploy role, which PowerUserAccess leaves out: only the project's own roles, policies and
    instance profiles (every name the program gives starts with ``<name_prefix>-``), passing them to AWS
    services, and the service-linked roles EKS, RDS, ElastiCache and ELB create on first use. The CI roles
    themselves are denied, so a deploy cannot widen its own trust or permissions (an explicit deny wins over
    any allow: IAM user guide, "Policy evaluation logic")."""
    owned = [
        f"arn:aws:iam::{account_id}:role/{name_prefix}-*",
        f"arn:aws:iam::{account_id}:policy/{name_prefix}-*",
        f"arn:aws:iam::{account_id}:instance-profile/{name_prefix}-*",
    ]
    ci_roles = [f"arn:aws:iam::{account_id}:role/{name_prefix}-{key}" for key in BOOTSTRAP_ROLE_KEYS]
    return _document(
        [
            {"Sid": "ProjectIam", "Effect": "Allow", "Action": list(PROJECT_IAM_ACTIONS), "Resource": owned},
            {"Sid": "NotTheCiRoles", "Effect": "Deny", "Action": "iam:*", "Resource": ci_roles},
            {
                "Sid": "ReadIam",
                "Effect": "Allow",
                "Action": ["iam:Get*", "iam:List*"],
                "Resource": "*",
            },
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"arn:aws:iam::{account_id}:role/aws-service-role/*",
            },
        ]
    )


def image_read_policy(*, repository_arn: str) -> Document:
    """Pull one repository's images (the prod deploy copies the digest that passed dev)."""
    return _document(
        [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullImages",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                "Resource": repository_arn,
            },
        ]
    )


def image_push_policy(*, repository_arn: str) -> Document:
    """Push to one repository (the deploy roles: dev's build job, prod's promotion)."""
    return _document(
        [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PushImages",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:DescribeImages",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart",
                ],
                "Resource": repository_arn,
            },
        ]
    )


def runner_service_policy(
    *, log_group_arn: str, connection_arn: str, region: str, account_id: str, subnet_arns: Sequence[str]
) -> Document:
    """The runner project's service role: its log group, the GitHub connection, and (in a VPC) the network
    interfaces of its builds in the given subnets. No other AWS access: every job assumes its own role by
    OIDC, and anything a job runs can use these credentials."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Sid": "GitHubConnection",
            "Effect": "Allow",
            "Action": [
                "codeconnections:GetConnectionToken",
                "codeconnections:GetConnection",
                "codeconnections:UseConnection",
            ],
            "Resource": connection_arn,
        },
    ]
    if subnet_arns:
        statements += [
            {
                "Sid": "VpcDescribe",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVpcs",
                ],
                "Resource": "*",
            },
            {
                "Sid": "VpcInterfaces",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterfacePermission",
                "Resource": f"arn:aws:ec2:{region}:{account_id}:network-interface/*",
                "Condition": {
                    "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                    "ArnEquals": {"ec2:Subnet": sorted(subnet_arns)},
                },
            },
        ]
    return _document(statements)
