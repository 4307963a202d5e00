"""What an AWS account needs before the nexus stacks: the Pulumi state backend and secrets key, and the roles
GitHub Actions assumes by OIDC. The runner that CI jobs use inside a stack's VPC is infra/runner.py.

- ``StateBackend``: one S3 bucket (the project's bucket baseline: no ACLs, all public-access blocks, SSE,
  versioning so that every checkpoint can be restored, a TLS-only policy) and a symmetric KMS key with an
  alias that encrypts the stacks' secrets. ``pulumi login s3://<bucket>?region=<region>&awssdk=v2`` and
  ``pulumi stack init --secrets-provider awskms://alias/<name>?region=<region>`` are the URLs it exports
  (Pulumi docs, "State and backends: AWS S3" and "Secrets: awskms"; the strings docs/operations.md runs).
- ``GitHubOidcRoles``: the account's IAM OIDC identity provider for ``token.actions.githubusercontent.com``
  (or an existing one: IAM allows one provider per URL in an account) and one role per ``CiRoleSpec``,
  trusted for exactly the listed ``sub`` claims (infra/ci_policies.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.ci_policies import GITHUB_OIDC_URL, STS_AUDIENCE, github_trust_policy
from infra.iam_policies import tls_only_bucket_policy
from infra.kms import logs_usage
from infra.storage import _SecureBucket, lifecycle_rules

STATE_NONCURRENT_DAYS = 90
"""Old checkpoint versions kept this long: a checkpoint broken by hand can be undone by restoring the
previous object version of ``.pulumi/stacks/<project>/<stack>.json``."""
KEY_DELETION_WINDOW_DAYS = 30
"""The longest KMS allows: a key scheduled for deletion by mistake can be cancelled for a month (without
the key, every secret in every checkpoint is lost)."""


@dataclass(frozen=True, kw_only=True)
class StateBackendArgs:
    """Inputs of a StateBackend."""

    key_alias: str
    """KMS alias name without ``alias/`` (the ``awskms://alias/<name>`` of ``pulumi stack init``)."""
    region: str
    """The region of the bucket and the key (both URLs carry it)."""
    account_id: pulumi.Input[str]
    """The account, for the key policy's root principal."""
    protect: bool
    """Protect the bucket and the key (prod): losing either loses every stack's state or secrets."""
    log_group_prefix: str | None = None
    """Log groups (names starting with it, e.g. the runner's ``/aws/codebuild/<prefix>-``) that CloudWatch
    Logs may encrypt with the key; None: none."""


class StateBackend(pulumi.ComponentResource):
    """Pulumi's state bucket and the KMS key of its secrets provider."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    backend_url: pulumi.Output[str]
    """``s3://<bucket>?region=<region>&awssdk=v2``: what ``pulumi login`` takes."""
    secrets_provider: str
    """``awskms://alias/<name>?region=<region>``: what ``pulumi stack init --secrets-provider`` takes."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:bootstrap:StateBackend", name, None, opts)
        state = _SecureBucket(
            self,
            f"{name}-bucket",
            protect=args.protect,
            lifecycle=lifecycle_rules(abort_multipart_days=7, noncurrent_days=STATE_NONCURRENT_DAYS),
            policy_for=lambda arn: json.dumps(tls_only_bucket_policy(bucket_arn=arn), sort_keys=True),
        )
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description="Pulumi secrets provider of the nexus stacks (awskms://)",
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: _key_policy(
                    account, region=args.region, log_group_prefix=args.log_group_prefix
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.kms.Alias(
            f"{name}-secrets-alias",
            name=f"alias/{args.key_alias}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = state.bucket.bucket
        self.bucket_arn = state.bucket.arn
        self.key_arn = key.arn
        self.backend_url = state.bucket.bucket.apply(
            lambda bucket: f"s3://{bucket}?region={args.region}&awssdk=v2"
        )
        self.secrets_provider = f"awskms://alias/{args.key_alias}?region={args.region}"
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "keyArn": self.key_arn,
                "backendUrl": self.backend_url,
                "secretsProvider": self.secrets_provider,
            }
        )


def _key_policy(account_id: str, *, region: str, log_group_prefix: str | None) -> str:
    # The KMS default key policy (KMS developer guide, key-policy-default.html, "Allows access to the AWS
    # account and enables IAM policies"): who may use the key is then decided by IAM (the CI roles' policies).
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EnableIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if log_group_prefix is not None:
        # CloudWatch Logs encrypts the listed log groups only (infra/kms.logs_usage: the logs.<region>
        # principal, conditioned on the log group's ARN in the encryption context).
        usage = logs_usage(region, account_id)
        usage["Condition"] = {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": (
                    f"arn:aws:logs:{region}:{account_id}:log-group:{log_group_prefix}*"
                )
            }
        }
        statements.append(usage)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class CiRoleSpec:
    """One role GitHub Actions jobs assume."""

    key: str
    """Stable short id of the role (``preview``, ``deploy``, ...): its logical name's suffix."""
    name: str
    """The role's name (explicit: the repository variables and ``adminRoleArns`` name it)."""
    subjects: tuple[str, ...]
    """The exact ``sub`` claims trusted (infra/ci_policies.github_subjects)."""
    managed_policy_arns: tuple[str, ...] = ()
    inline_policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Policy name -> JSON document."""
    max_session_hours: int = 2


@dataclass(frozen=True, kw_only=True)
class GitHubOidcRolesArgs:
    """Inputs of GitHubOidcRoles."""

    existing_provider_arn: str | None
    """Use the account's existing provider for GitHub (IAM keeps one per URL) instead of creating one."""
    roles: Sequence[CiRoleSpec]


class GitHubOidcRoles(pulumi.ComponentResource):
    """The OIDC provider for GitHub Actions and the CI roles it may assume."""

    provider_arn: pulumi.Output[str]
    role_arns: dict[str, pulumi.Output[str]]
    """Role key -> ARN."""

    def __init__(
        self, name: str, args: GitHubOidcRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:bootstrap:GitHubOidcRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_provider_arn is not None:
            provider_arn: pulumi.Output[str] = pulumi.Output.from_input(args.existing_provider_arn)
        else:
            # No thumbprint: for GitHub's issuer IAM validates the certificate against its own trusted CAs and
            # ignores thumbprints (pulumi-aws iam/open_id_connect_provider.py, ``thumbprint_lists``).
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=GITHUB_OIDC_URL,
                client_id_lists=[STS_AUDIENCE],
                opts=child,
            ).arn
        self.provider_arn = provider_arn
        self.role_arns = {spec.key: self._role(name, spec, provider_arn) for spec in args.roles}
        self.register_outputs({"providerArn": self.provider_arn, "roleArns": self.role_arns})

    def _role(self, name: str, spec: CiRoleSpec, provider_arn: pulumi.Output[str]) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        key = spec.key
        trust = provider_arn.apply(
            lambda arn: json.dumps(
                github_trust_policy(provider_arn=arn, subjects=spec.subjects), sort_keys=True
            )
        )
        role = aws.iam.Role(
            f"{name}-{key}",
            name=spec.name,
            assume_role_policy=trust,
            max_session_duration=spec.max_session_hours * 3600,
            opts=child,
        )
        for arn in spec.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{name}-{key}-{arn.rsplit('/', 1)[-1].lower()}", role=role.name, policy_arn=arn, opts=child
            )
        for policy_name, document in spec.inline_policies.items():
            aws.iam.RolePolicy(
                f"{name}-{key}-{policy_name}", role=role.id, name=policy_name, policy=document, opts=child
            )
        return role.arn


def as_json(document: pulumi.Input[Any]) -> pulumi.Output[str]:
    """A policy document (possibly holding Outputs) as a JSON string Output."""
    return pulumi.Output.from_input(document).apply(lambda value: json.dumps(value, sort_keys=True))
