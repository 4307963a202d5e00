"""The mapping table's rows for the account bootstrap's CI types (project ``nexus-bootstrap``): the GitHub
OIDC identity provider and the CodeBuild-hosted runner (project and webhook). The bootstrap's other types (S3
state bucket and its sub-resources, KMS key and alias, ECR repository and lifecycle policy, IAM roles and
policies, log group, security group) are the main stacks' rows.

CloudFormation names are the registry schemas cfn-lint ships (.tools/cfn-lint, ``cfnlint/data/schemas``:
``AWS::IAM::OIDCProvider`` with ``Url``, ``ClientIdList``, ``ThumbprintList``; ``AWS::CodeBuild::Project``,
whose ``Triggers`` (``Webhook``, ``BuildType``, ``FilterGroups``: a list of lists of ``{Type, Pattern}``) is
what CloudFormation makes of CodeBuild's CreateWebhook). Terraform names are the provider's
(``aws_iam_openid_connect_provider``; ``aws_codebuild_project``, the type checkov's CodeBuild checks read;
``aws_codebuild_webhook`` with ``filter_group`` blocks of ``filter`` blocks: terraform-provider-aws
internal/service/codebuild/webhook.go).
"""

from __future__ import annotations

from typing import Any

from ..shapes import const, pascal, pick
from .model import Cfn, Merge, Row, Tf, To

_LOGS = pick(
    {
        # CloudFormation spells CloudWatch with a capital W here (AWS::CodeBuild::Project LogsConfig).
        "cloudwatchLogs": ("CloudWatchLogs", pascal),
        "s3Logs": ("S3Logs", pascal),
    }
)


def _filter_groups(groups: Any) -> list[list[dict[str, Any]]]:
    """Terraform's ``filter_group { filter {...} }`` blocks as CloudFormation's list of filter lists."""
    return [[pascal(item) for item in group.get("filters") or []] for group in groups]


ROWS: dict[str, Row] = {
    # --- IAM OIDC identity provider (GitHub Actions) ---
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Row(
        Cfn(
            "AWS::IAM::OIDCProvider",
            {
                "url": To("Url"),
                "clientIdLists": To("ClientIdList"),
                "thumbprintLists": To("ThumbprintList"),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_iam_openid_connect_provider"),
    ),
    # --- CodeBuild (the GitHub Actions runner) ---
    "aws:codebuild/project:Project": Row(
        Cfn(
            "AWS::CodeBuild::Project",
            {
                "name": To("Name"),
                "description": To("Description"),
                "serviceRole": To("ServiceRole"),
                "source": To("Source", pascal),
                "artifacts": To("Artifacts", pascal),
                "environment": To("Environment", pascal),
                "logsConfig": To("LogsConfig", _LOGS),
                "vpcConfig": To("VpcConfig", pascal),
                "buildTimeout": To("TimeoutInMinutes"),
                "queuedTimeout": To("QueuedTimeoutInMinutes"),
                "encryptionKey": To("EncryptionKey"),
                "concurrentBuildLimit": To("ConcurrentBuildLimit"),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf(
            "aws_codebuild_project",
            renames={"environment.environmentVariables": "environment_variable"},
        ),
    ),
    "aws:codebuild/webhook:Webhook": Row(
        Cfn(
            "AWS::CodeBuild::Project",
            {
                # The project it is merged into; that a webhook exists is the Triggers' Webhook flag.
                "projectName": To("Triggers.Webhook", const(True)),
                "buildType": To("Triggers.BuildType"),
                "filterGroups": To("Triggers.FilterGroups", _filter_groups),
            },
            merge=Merge(into="aws:codebuild/project:Project", by="projectName", key="name"),
        ),
        Tf(
            "aws_codebuild_webhook",
            renames={"filterGroups": "filter_group", "filterGroups.filters": "filter"},
        ),
    ),
}
