"""Delivery rules: the image repository the deploys pull from (immutable tags, scanning, a lifecycle)."""

from __future__ import annotations

from collections.abc import Iterator

from policy.core import Graph, PolicyRule, Violation

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def _ecr_repository_baseline(graph: Graph) -> Iterator[Violation]:
    with_lifecycle = {
        repository.urn
        for policy in graph.by_type(ECR_LIFECYCLE_POLICY)
        for repository in graph.referenced(policy, "repository")
    }
    for repository in graph.by_type(ECR_REPOSITORY):
        problems = []
        # ECR's default is MUTABLE: a push could then swap the image behind a tag that is already deployed.
        if repository.inputs.get("imageTagMutability") != "IMMUTABLE":
            problems.append("tags are mutable (image_tag_mutability='IMMUTABLE')")
        if (repository.inputs.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
            problems.append("images are not scanned on push (image_scanning_configuration scan_on_push)")
        if repository.urn not in with_lifecycle:
            problems.append("no lifecycle policy (aws.ecr.LifecyclePolicy): images would pile up forever")
        if problems:
            yield Violation("ecr-repository-baseline", repository.urn, "; ".join(problems))


DELIVERY_RULES: list[PolicyRule] = [
    PolicyRule(
        "ecr-repository-baseline",
        "Every ECR repository has immutable tags, scans images on push and has a lifecycle policy.",
        _ecr_repository_baseline,
    ),
]
