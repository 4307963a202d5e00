"""The mapping table's rows for IAM: roles and their policies."""

from __future__ import annotations

from ..shapes import json_doc
from .model import PREFIX_EXPANDED, Cfn, Drop, Merge, Row, Tf, To

ROWS: dict[str, Row] = {
    # --- IAM ---
    "aws:iam/role:Role": Row(
        Cfn(
            "AWS::IAM::Role",
            {
                "name": To("RoleName"),
                "namePrefix": PREFIX_EXPANDED,
                "assumeRolePolicy": To("AssumeRolePolicyDocument", json_doc),
                "description": To("Description"),
                "maxSessionDuration": To("MaxSessionDuration"),
                "path": To("Path"),
                "permissionsBoundary": To("PermissionsBoundary"),
                "tags": To("Tags"),
            },
            name=("name", "RoleName"),
            tags="list",
        ),
        Tf("aws_iam_role", renames={"inlinePolicies": "inline_policy"}),
    ),
    "aws:iam/rolePolicy:RolePolicy": Row(
        Cfn(
            "AWS::IAM::RolePolicy",
            {
                "name": To("PolicyName"),
                "namePrefix": PREFIX_EXPANDED,
                "role": To("RoleName"),
                "policy": To("PolicyDocument", json_doc),
            },
            name=("name", "PolicyName"),
        ),
        Tf("aws_iam_role_policy"),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Row(
        Cfn(
            "AWS::IAM::Role",
            {
                "role": Drop("names the role it is merged into"),
                "policyArn": To("ManagedPolicyArns", lambda arn: [arn], append=True),
            },
            merge=Merge(into="aws:iam/role:Role", by="role", key="name"),
        ),
        Tf("aws_iam_role_policy_attachment"),
    ),
}
