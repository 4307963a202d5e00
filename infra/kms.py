"""Key policies: every KMS key of the project says who administers it and who may use it for what.

Without a ``policy`` a key gets KMS's default key policy, which lets the account root (and so any IAM policy
in the account) do everything with it. The policies here name instead:

- administration (create, describe, enable/disable, rotate, schedule deletion, change the policy itself) for
  the stack's admin roles only: the deploy role that runs ``pulumi up`` and the humans of
  ``nexus:cluster.adminRoleArns``. KMS refuses a new policy that would lock out the principal setting it
  (PutKeyPolicy's lockout safety check, AWS KMS developer guide, "Default key policy",
  key-policy-default.html), and the deploy role is the caller, so it must stay in the list;
- usage (encrypt, decrypt, data keys, grants for AWS resources) for the one service that needs the key,
  conditioned on that service and this account where the service supports it.

Losing every admin role leaves the key usable by its service but unmanageable until AWS Support restores
access: docs/operations.md ("Keys") says to keep the deploy role.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import pulumi
import pulumi_aws as aws

ADMIN_ACTIONS: Final = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
"""The key administrators' actions of AWS's own example (key-policy-default.html, "Allows key administrators
to administer the KMS key"): no cryptographic operation among them."""

USAGE_ACTIONS: Final = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)


def admin_statement(admin_role_arns: Sequence[str]) -> dict[str, Any]:
    """Administration of the key by the stack's admin roles."""
    if not admin_role_arns:
        raise ValueError("a key policy needs at least one admin role (the deploy role), or KMS refuses it")
    return {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": sorted(admin_role_arns)},
        "Action": list(ADMIN_ACTIONS),
        "Resource": "*",
    }


def key_policy(admin_role_arns: Sequence[str], usage: Sequence[dict[str, Any]]) -> str:
    """A key policy: the admin statement, then the usage statements."""
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [admin_statement(admin_role_arns), *usage]}, indent=2
    )


def cloudwatch_alarms_usage(account_id: str) -> dict[str, Any]:
    """CloudWatch may publish alarm notifications to a topic encrypted with the key (SNS developer guide,
    sns-key-management.html, "Enable compatibility between event sources from AWS services and encrypted
    topics": kms:Decrypt and kms:GenerateDataKey* for the service principal)."""
    return {
        "Sid": "CloudWatchAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }


def logs_usage(region: str, account_id: str, partition: str = "aws") -> dict[str, Any]:
    """CloudWatch Logs may encrypt this account's log groups in this region with the key (CloudWatch Logs
    user guide, encrypt-log-data-kms.html, step 2: the logs.<region> principal, conditioned on the
    kms:EncryptionContext:aws:logs:arn of the account's log groups)."""
    log_groups = f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
    return {
        "Sid": "CloudWatchLogsEncrypt",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
    }


def role_usage(role_arns: Sequence[str], sid: str) -> list[dict[str, Any]]:
    """Roles that use the key through an AWS service (EKS envelope encryption): the cryptographic actions
    and grants for AWS resources only (kms:GrantIsForAWSResource)."""
    principal = {"AWS": sorted(role_arns)}
    return [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": [*USAGE_ACTIONS, "kms:ListGrants"],
            "Resource": "*",
        },
        {
            "Sid": f"{sid}Grants",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


class ServiceKey(pulumi.ComponentResource):
    """A customer-managed key with rotation on and an explicit key policy (admin roles + one service)."""

    arn: pulumi.Output[str]
    """ARN of the key."""

    def __init__(
        self,
        name: str,
        *,
        description: str,
        admin_role_arns: Sequence[str],
        usage: pulumi.Input[Sequence[dict[str, Any]]],
        opts: pulumi.ResourceOptions | None = None,
        protect: bool = False,
    ) -> None:
        super().__init__("nexus:kms:ServiceKey", name, None, opts)
        admins = tuple(admin_role_arns)
        key = aws.kms.Key(
            f"{name}-key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(usage).apply(lambda statements: key_policy(admins, statements)),
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.arn = key.arn
        self.register_outputs({"arn": self.arn})
