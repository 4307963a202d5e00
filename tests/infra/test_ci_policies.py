"""The CI roles' IAM documents, as plain functions: who may assume each role and what it may touch."""

from __future__ import annotations

import pytest

from infra.ci_policies import (
    GITHUB_OIDC_HOST,
    github_subjects,
    github_trust_policy,
    project_iam_policy,
    runner_service_policy,
    state_access_policy,
)

pytestmark = pytest.mark.unit

BUCKET = "arn:aws:s3:::nexus-dev-state-bucket-abc1234"
KEY = "arn:aws:kms:us-east-1:210987654321:key/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"


def _actions(document: dict[str, object], sid: str) -> list[str]:
    (statement,) = [s for s in document["Statement"] if s.get("Sid") == sid]  # type: ignore[attr-defined]
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_subjects_are_githubs_claim_forms() -> None:
    assert github_subjects("acme/nexus", pull_requests=True, branch="main", environments=("dev",)) == [
        "repo:acme/nexus:pull_request",
        "repo:acme/nexus:ref:refs/heads/main",
        "repo:acme/nexus:environment:dev",
    ]
    with pytest.raises(ValueError, match="<owner>/<repository>"):
        github_subjects("nexus", pull_requests=True, branch=None, environments=())
    with pytest.raises(ValueError, match="at least one subject"):
        github_subjects("acme/nexus", pull_requests=False, branch=None, environments=())


def test_trust_pins_audience_and_exact_subjects() -> None:
    provider = "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
    document = github_trust_policy(provider_arn=provider, subjects=["repo:acme/nexus:environment:production"])
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Federated": provider}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC_HOST}:sub": ["repo:acme/nexus:environment:production"],
        }
    }
    with pytest.raises(ValueError, match="without wildcards"):
        github_trust_policy(provider_arn=provider, subjects=["repo:acme/nexus:*"])


def test_a_preview_role_locks_and_decrypts_but_never_writes_a_checkpoint() -> None:
    read = state_access_policy(bucket_arn=BUCKET, key_arn=KEY, write_state=False)
    (write,) = [s for s in read["Statement"] if s["Sid"] == "WriteState"]
    assert write["Resource"] == [f"{BUCKET}/.pulumi/locks/*"]
    assert _actions(read, "SecretsKey") == ["kms:Decrypt", "kms:DescribeKey"]
    deploy = state_access_policy(bucket_arn=BUCKET, key_arn=KEY, write_state=True)
    (write,) = [s for s in deploy["Statement"] if s["Sid"] == "WriteState"]
    assert write["Resource"] == [f"{BUCKET}/.pulumi/*"]
    assert "kms:Encrypt" in _actions(deploy, "SecretsKey")


def test_the_deploy_roles_iam_is_confined_to_the_projects_names() -> None:
    document = project_iam_policy(account_id="210987654321", name_prefix="nexus-prod")
    (owned,) = [s for s in document["Statement"] if s["Sid"] == "ProjectIam"]
    assert owned["Resource"] == [
        "arn:aws:iam::210987654321:role/nexus-prod-*",
        "arn:aws:iam::210987654321:policy/nexus-prod-*",
        "arn:aws:iam::210987654321:instance-profile/nexus-prod-*",
    ]
    # Named actions, never a wildcard (checkov CKV2_AWS_40: "does not allow full IAM privileges").
    assert all("*" not in action for action in owned["Action"])
    assert {"iam:CreateRole", "iam:PassRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"} <= set(
        owned["Action"]
    )
    assert not {"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"} & set(owned["Action"])
    for statement in document["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Action"] not in ("iam:*", "*")
    (deny,) = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    assert "arn:aws:iam::210987654321:role/nexus-prod-deploy" in deny["Resource"]
    assert "arn:aws:iam::210987654321:role/nexus-prod-runner-*" in deny["Resource"]


def test_the_runner_outside_a_vpc_gets_no_ec2_permission() -> None:
    common = {
        "log_group_arn": "arn:aws:logs:us-east-1:210987654321:log-group:/aws/codebuild/nexus-dev-runner",
        "connection_arn": "arn:aws:codeconnections:us-east-1:210987654321:connection/x",
        "region": "us-east-1",
        "account_id": "210987654321",
    }
    outside = runner_service_policy(**common, subnet_arns=[])
    assert {s["Sid"] for s in outside["Statement"]} == {"Logs", "GitHubConnection"}
    subnets = ["arn:aws:ec2:us-east-1:210987654321:subnet/subnet-1"]
    inside = runner_service_policy(**common, subnet_arns=subnets)
    (interfaces,) = [s for s in inside["Statement"] if s["Sid"] == "VpcInterfaces"]
    assert interfaces["Condition"]["ArnEquals"] == {"ec2:Subnet": subnets}
    assert interfaces["Condition"]["StringEquals"] == {"ec2:AuthorizedService": "codebuild.amazonaws.com"}
