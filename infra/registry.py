"""The API image's ECR repository: CI pushes one image per commit here and deploys it by digest.

Tags are immutable, so a tag (the commit SHA) always names the image that was built from that commit, and a
rebuilt image can never silently replace a deployed one. Every push is scanned. A lifecycle policy keeps the
repository from growing without end while keeping enough history to roll back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

UNTAGGED_EXPIRY_DAYS = 7
"""Untagged images (left behind by an interrupted push or a multi-arch index) go after a week."""


@dataclass(frozen=True, kw_only=True)
class ImageRepositoryArgs:
    """Inputs of an ImageRepository. All plain."""

    keep_images: int
    """How many tagged images to keep (older ones are expired); deployed digests must stay within it."""
    is_prod: bool
    """In prod, refuse to delete the repository while it holds images (force_delete off)."""


def lifecycle_policy(keep_images: int) -> dict[str, Any]:
    """The lifecycle policy: expire untagged images after a week, keep the newest ``keep_images`` tagged."""
    if keep_images < 1:
        raise ValueError("keep_images must be at least 1")
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_EXPIRY_DAYS,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {keep_images} tagged images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


class ImageRepository(pulumi.ComponentResource):
    """An ECR repository with immutable tags, scan on push, and a lifecycle policy."""

    repository_url: pulumi.Output[str]
    """``<account>.dkr.ecr.<region>.amazonaws.com/<name>``: where CI pushes and what the pods pull."""
    repository_name: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:registry:ImageRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            # dev can be destroyed with its images; in prod a destroy stops at a repository that holds images.
            force_delete=not args.is_prod,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(lifecycle_policy(args.keep_images)),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.repository_name = repository.name
        self.repository_arn = repository.arn
        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "repositoryName": self.repository_name,
                "repositoryArn": self.repository_arn,
            }
        )
