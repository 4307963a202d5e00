"""The account bootstrap (bootstrap/, stacks/bootstrap): its offline plan, roles, runner and refusals."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from offline import EmulationError
from stacks.bootstrap import preview
from tests.support.harness import bootstrap_config, run_bootstrap, run_stack

pytestmark = pytest.mark.infra

REAL_ACCOUNT = "210987654321"
ROLE = "aws:iam/role:Role"
PROJECT = "aws:codebuild/project:Project"


def _real(stack: str, network_stack: str = "") -> dict[str, Any]:
    config = bootstrap_config(stack)
    config["nexus-bootstrap:github"]["repository"] = "acme-corp/nexus-platform"
    config["nexus-bootstrap:runner"]["connectionArn"] = (
        f"arn:aws:codeconnections:us-east-1:{REAL_ACCOUNT}:connection/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
    )
    config["nexus-bootstrap:runner"]["networkStack"] = network_stack
    return config


def _with_runner(stack: str) -> Any:
    network = f"organization/nexus/{stack}"
    return run_bootstrap(stack, _real(stack, network), stack_outputs={network: run_stack(stack).raw.outputs})


def _trust(run: Any) -> dict[str, list[str]]:
    """Role name -> the sub claims its trust policy admits."""
    trusted = {}
    for role in run.by_type(ROLE):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        if statement["Action"] == "sts:AssumeRoleWithWebIdentity":
            trusted[role.inputs["name"]] = statement["Condition"]["StringEquals"][
                "token.actions.githubusercontent.com:sub"
            ]
    return trusted


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_bootstrap_previews_with_no_unemulated_type(stack: str) -> None:
    run = run_bootstrap(stack)
    assert run.error is None
    assert not run.raw.unemulated_types
    assert not run.missing_required_inputs()
    assert run.outputs["secretsProvider"] == f"awskms://alias/nexus-{stack}-pulumi?region=us-east-1"
    assert run.outputs["backendUrl"] == f"s3://{run.outputs['stateBucket']}?region=us-east-1&awssdk=v2"
    assert not run.by_type(PROJECT), "no runner before the main stack's network exists"


def test_dev_roles_and_who_may_assume_them() -> None:
    assert _trust(run_bootstrap("dev")) == {
        "nexus-dev-preview": ["repo:octo-org/nexus-platform:pull_request"],
        "nexus-dev-deploy": [
            "repo:octo-org/nexus-platform:environment:dev",
            "repo:octo-org/nexus-platform:ref:refs/heads/main",
        ],
        "nexus-dev-image-read": ["repo:octo-org/nexus-platform:ref:refs/heads/main"],
    }


def test_no_pull_request_reaches_prod_and_only_the_approved_environment_deploys() -> None:
    trusted = _trust(run_bootstrap("prod"))
    assert trusted == {
        "nexus-prod-plan": ["repo:octo-org/nexus-platform:ref:refs/heads/main"],
        "nexus-prod-deploy": ["repo:octo-org/nexus-platform:environment:production"],
        "nexus-prod-image-push": ["repo:octo-org/nexus-platform:ref:refs/heads/main"],
    }
    assert not any(sub.endswith(":pull_request") for subs in trusted.values() for sub in subs)


@pytest.mark.parametrize(("stack", "reader"), [("dev", "preview"), ("prod", "plan")])
def test_the_read_only_role_writes_no_checkpoint_and_cannot_encrypt(stack: str, reader: str) -> None:
    run = run_bootstrap(stack)
    (policy,) = [
        p for p in run.by_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith(f"-{reader}-state")
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    bucket = run.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert statements["WriteState"]["Resource"] == [f"{bucket}/.pulumi/locks/*"]
    assert "kms:Encrypt" not in statements["SecretsKey"]["Action"]
    attachments = {
        a.inputs["policyArn"]
        for a in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == f"nexus-{stack}-{reader}"
    }
    assert attachments == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}


def test_prod_protects_its_state_and_its_key() -> None:
    run = run_bootstrap("prod")
    assert run.one("aws:s3/bucket:Bucket").protect
    assert run.one("aws:kms/key:Key").protect
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert not run_bootstrap("dev").one("aws:kms/key:Key").protect


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_runner_runs_in_the_main_stacks_private_subnets(stack: str) -> None:
    main = run_stack(stack)
    run = _with_runner(stack)
    assert run.error is None
    project = run.one(PROJECT)
    assert project.inputs["name"] == f"nexus-{stack}-runner"
    vpc = project.inputs["vpcConfig"]
    assert vpc["vpcId"] == main.outputs["vpcId"]
    assert vpc["subnets"] == main.outputs["privateSubnetIds"]
    assert project.inputs["source"]["auth"]["type"] == "CODECONNECTIONS"
    assert project.inputs["source"]["location"] == "https://github.com/acme-corp/nexus-platform.git"
    webhook = run.one("aws:codebuild/webhook:Webhook")
    assert webhook.inputs["filterGroups"] == [
        {"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}
    ]
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    assert "ingress" not in group.inputs or not group.inputs["ingress"]
    assert [(e["fromPort"], e["toPort"]) for e in group.inputs["egress"]] == [(443, 443)]
    assert run.outputs["runnerLabel"] == f"codebuild-nexus-{stack}-runner"
    # The main stack admits its VPC's CIDR on the cluster endpoint (nexus:cluster.apiAccess), and the runner's
    # subnets are that VPC's: the private endpoint is reachable from the builds.
    cidr = main.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"]
    rules = main.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert any(rule.inputs.get("cidrIpv4") == cidr and rule.inputs.get("fromPort") == 443 for rule in rules)


def test_a_reference_to_a_stack_the_backend_does_not_have_fails_the_read() -> None:
    # The monitor's read directly: a failed read inside a program run leaves the SDK's output coroutines
    # unawaited until the end of the session.
    from offline.monitor import RecordingMonitor

    monitor = RecordingMonitor(
        project="nexus-bootstrap",
        stack="dev",
        default_region="us-east-1",
        stack_outputs={"organization/nexus/prod": {}},
    )
    with pytest.raises(EmulationError, match="the backend has no stack 'organization/nexus/dev'"):
        monitor._read_stack_reference("urn:x", {"name": "organization/nexus/dev"})
    state = monitor._read_stack_reference("urn:x", {"name": "organization/nexus/prod"})
    assert state == {"name": "organization/nexus/prod", "outputs": {}, "secretOutputNames": []}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_real_up_refuses_the_shipped_examples_naming_each_key(stack: str) -> None:
    run = run_bootstrap(stack, dry_run=False)
    assert run.error is not None
    assert not run.resources
    keys = sorted(line.strip().split(": ", 1)[0] for line in run.error.splitlines()[1:])
    assert keys == ["nexus-bootstrap:github.repository", "nexus-bootstrap:runner.connectionArn"]
    real = run_bootstrap(stack, _real(stack), dry_run=False)
    assert real.error is None
    assert len(real.resources) == len(run_bootstrap(stack).resources)


def test_a_bad_config_names_the_key_before_any_resource() -> None:
    config = _real("dev")
    config["nexus-bootstrap:github"]["repository"] = "not a repository"
    config["nexus-bootstrap:runner"]["networkStack"] = "nexus/dev"
    run = run_bootstrap("dev", config)
    assert run.error is not None
    assert not run.resources
    lines = run.error.splitlines()[1:]
    assert [line.strip().split(": ", 1)[0] for line in lines] == [
        "nexus-bootstrap:github.repository",
        "nexus-bootstrap:runner.networkStack",
    ]


def test_the_preview_command_lists_the_placeholders_and_the_runner_when_the_network_exists(
    tmp_path: Any,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert preview.main(["--stack", "prod"], out=out, err=err) == 0, err.getvalue()
    assert "Placeholders (replace before pulumi up" in out.getvalue()
    assert "nexus-bootstrap:runner.connectionArn" in out.getvalue()
    edited = tmp_path / "Pulumi.dev.yaml"
    text = (preview.BOOTSTRAP_DIR / "Pulumi.dev.yaml").read_text()
    edited.write_text(text.replace('networkStack: ""', "networkStack: organization/nexus/dev"))
    out = io.StringIO()
    assert preview.main(["--stack", "dev", "--config-file", str(edited)], out=out, err=err) == 0, (
        err.getvalue()
    )
    assert "aws:codebuild/project:Project nexus-dev-runner-project" in out.getvalue()


def test_the_bootstrap_runs_as_the_language_host_runs_it(tmp_path: Any) -> None:
    """-I: no PYTHONPATH and no cwd on sys.path; only bootstrap/ is, as under `pulumi up` in bootstrap/. The
    entry point itself must make the repository's packages importable."""
    import subprocess
    import sys
    import textwrap

    from tests.support.harness import PROJECT_DIR

    script = textwrap.dedent(
        f"""
        import importlib.util, sys
        assert importlib.util.find_spec("stacks") is None
        spec = importlib.util.spec_from_file_location(
            "offline_engine", {str(PROJECT_DIR / "offline/__init__.py")!r},
            submodule_search_locations=[{str(PROJECT_DIR / "offline")!r}])
        engine = importlib.util.module_from_spec(spec)
        sys.modules["offline_engine"] = engine
        spec.loader.exec_module(engine)
        project = engine.read_project({str(PROJECT_DIR / "bootstrap")!r})
        stack = engine.read_stack({str(PROJECT_DIR / "bootstrap" / "Pulumi.prod.yaml")!r}, project)
        run = engine.run_program(project.directory, project=project.name, stack=stack.stack,
                                 config=stack.config, main=project.main, dry_run=True)
        assert run.error is None, run.error
        print(len(run.resources))
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-W", "ignore::DeprecationWarning", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[0]) == len(run_bootstrap("prod").resources)


@pytest.mark.unit
def test_the_bootstrap_keys_are_declared_and_documented() -> None:
    import re

    import yaml

    from stacks.bootstrap.config import KNOWN_KEYS, NAMESPACE, GitHubConfig, RunnerConfig
    from stacks.config.docs import model_keys
    from tests.support.harness import PROJECT_DIR

    declared = yaml.safe_load((PROJECT_DIR / "bootstrap" / "Pulumi.yaml").read_text())["config"]
    assert sorted(declared) == sorted(f"{NAMESPACE}:{key}" for key in KNOWN_KEYS)
    docs = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    for key in KNOWN_KEYS:
        assert re.search(rf"^## {NAMESPACE}:{key}$", docs, flags=re.MULTILINE), key
    for model in (GitHubConfig, RunnerConfig):
        for doc in model_keys(model):
            assert doc.row() in docs, f"regenerate the row of {doc.path}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_rule_holds_on_the_bootstrap_with_its_runner(stack: str) -> None:
    from policy import RULES, check_rule, from_records

    resources = list(from_records(_with_runner(stack)))
    violations = [(rule.name, v.message) for rule in RULES for v in check_rule(rule, resources)]
    assert violations == []
    # The ECR rule did look at the bootstrap's repository (the main stacks have none any more).
    assert any(r.type == "aws:ecr/repository:Repository" for r in resources)
