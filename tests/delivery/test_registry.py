"""The API image's ECR repository (owned by the account bootstrap): recorded inputs on dev and prod, what CI
reads back, and its rule."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from infra.registry import UNTAGGED_EXPIRY_DAYS, lifecycle_policy
from policy import RULES, PolicyResource, check_rule, from_records
from stacks.bootstrap.program import IMAGES_KEPT
from tests.support.harness import PROJECT_DIR, StackRun, run_bootstrap, run_stack

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
COMPONENT = "nexus:registry:ImageRepository"


@pytest.mark.unit
def test_lifecycle_policy_expires_untagged_images_then_keeps_the_newest_tagged() -> None:
    rules = lifecycle_policy(25)["rules"]
    assert [rule["rulePriority"] for rule in rules] == [1, 2]
    assert rules[0]["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": UNTAGGED_EXPIRY_DAYS,
    }
    assert rules[1]["selection"]["countType"] == "imageCountMoreThan"
    assert rules[1]["selection"]["countNumber"] == 25
    assert all(rule["action"] == {"type": "expire"} for rule in rules)


@pytest.mark.unit
def test_lifecycle_policy_refuses_to_keep_nothing() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        lifecycle_policy(0)


@pytest.mark.infra
@pytest.mark.parametrize(("stack", "force_delete"), [("dev", True), ("prod", False)])
def test_repository_inputs(stack: str, force_delete: bool) -> None:
    run = run_bootstrap(stack)
    repository = run.one(REPOSITORY)
    component = run.one(COMPONENT)
    assert repository.parent == component.urn
    assert repository.name == f"nexus-{stack}-images-repo"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository.inputs["forceDelete"] is force_delete
    assert "name" not in repository.inputs  # auto-named: stacks sharing an account never collide
    # The stack's explicit provider (tags, region) reaches the repository through the component.
    assert repository.provider is not None
    assert repository.provider.endswith("::aws")

    lifecycle = run.one(LIFECYCLE)
    assert lifecycle.parent == component.urn
    assert lifecycle.inputs["repository"] == repository.outputs["name"]
    assert repository.urn in lifecycle.record.property_dependencies["repository"]
    assert json.loads(lifecycle.inputs["policy"]) == lifecycle_policy(IMAGES_KEPT)


@pytest.mark.infra
def test_ci_reads_the_repository_url_and_the_deployed_image_from_the_exports() -> None:
    bootstrap = run_bootstrap("dev")
    url = bootstrap.outputs["ecrRepositoryUrl"]
    assert url == bootstrap.one(REPOSITORY).outputs["repositoryUrl"]
    assert url.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/nexus-dev-images-repo-")
    main = run_stack("dev")
    assert not main.by_type(REPOSITORY), "the main stack owns no repository: its first up needs one already"
    assert main.outputs["apiImage"] == "nexus-api:latest"  # Pulumi.dev.yaml leaves the default


@pytest.mark.infra
def test_the_image_ci_sets_is_the_image_the_stack_exports() -> None:
    """CI deploys with nexus:api.image set to repository@digest; the export reads it back for PR previews."""
    digest = "sha256:" + "ab" * 32
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/nexus-dev-images-repo-abc1234@{digest}"
    config = _stack_config("dev")
    config["nexus:api"] = {**config.get("nexus:api", {}), "image": image}
    run = run_stack(config, stack="dev")
    assert run.error is None
    assert run.outputs["apiImage"] == image
    api = next(r for r in run.by_type("kubernetes:apps/v1:Deployment") if r.name.endswith("-api"))
    containers = api.inputs["spec"]["template"]["spec"]["containers"]
    assert {container["image"] for container in containers} == {image}


def _stack_config(stack: str) -> dict[str, object]:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


# --- the policy rule --------------------------------------------------------------------------------------


def _rule_violations(run: StackRun, **changes: object) -> list[str]:
    rule = next(rule for rule in RULES if rule.name == "ecr-repository-baseline")
    resources: list[PolicyResource] = []
    for resource in from_records(run):
        if resource.type == REPOSITORY and changes:
            inputs = {k: v for k, v in {**resource.inputs, **changes}.items() if v is not None}
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return [violation.message for violation in check_rule(rule, resources)]


@pytest.mark.infra
def test_rule_holds_on_dev_and_prod() -> None:
    assert _rule_violations(run_bootstrap("dev")) == []
    assert _rule_violations(run_bootstrap("prod")) == []


@pytest.mark.infra
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"imageTagMutability": "MUTABLE"}, "tags are mutable"),
        ({"imageTagMutability": None}, "tags are mutable"),  # ECR's default
        ({"imageScanningConfiguration": {"scanOnPush": False}}, "not scanned on push"),
    ],
)
def test_rule_fails_on_a_weakened_repository(changes: dict[str, object], message: str) -> None:
    (violation,) = _rule_violations(run_bootstrap("prod"), **changes)
    assert message in violation


@pytest.mark.infra
def test_rule_fails_without_a_lifecycle_policy() -> None:
    rule = next(rule for rule in RULES if rule.name == "ecr-repository-baseline")
    resources = [r for r in from_records(run_bootstrap("dev")) if r.type != LIFECYCLE]
    (violation,) = check_rule(rule, resources)
    assert "no lifecycle policy" in violation.message
