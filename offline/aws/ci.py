"""CodeBuild: the project and webhook of a CodeBuild-hosted GitHub Actions runner (infra/runner.py).

- ``aws:codebuild/project:Project``: the Terraform AWS provider's resource carries ``@ArnIdentity`` and
  ``@ArnFormat("project/{name}")`` (internal/service/codebuild/project.go), so its id is the project's ARN
  ``arn:aws:codebuild:<region>:<account>:project/<name>``; ``name`` is required (no auto-name) and
  ``build_timeout`` must be within 5-2160 minutes (``validation.IntBetween(5, 2160)``, same file).
- ``aws:codebuild/webhook:Webhook``: imported by the project's name (pulumi-aws codebuild/webhook.py,
  "Import"), so that is its id; CodeBuild returns the GitHub webhook's ``url``, and ``payloadUrl`` and
  ``secret`` (webhook.py outputs). ``WORKFLOW_JOB_QUEUED`` "works with GitHub & GitHub Enterprise only"
  (pulumi-aws codebuild/_inputs.py, ``WebhookFilterGroupFilterArgs.pattern``), checked against the project's
  source type.
"""

from __future__ import annotations

from typing import Any

from ..cloud import Ctx, Emulation, EmulationError, register
from .common import arn_id, get


def _project(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    return {
        "arn": ctx.arn("codebuild", f"project/{name}"),
        "badgeUrl": "",
        "publicProjectAlias": "",
    }


def _project_checks(ctx: Ctx) -> None:
    if not ctx.get("name"):
        raise EmulationError(f"{ctx.urn}: name is required (aws_codebuild_project has no auto-name)")
    timeout = ctx.get("buildTimeout", 60)
    if not 5 <= int(timeout) <= 2160:
        raise EmulationError(
            f"{ctx.urn}: expected build_timeout to be in the range (5 - 2160), got {timeout}"
        )


def _webhook(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("projectName")
    return {
        "url": f"https://api.github.com/repos/webhooks/{ctx.digits(9)}",
        "payloadUrl": f"https://codebuild.{ctx.region}.amazonaws.com/webhooks?t={ctx.hex(32, 'payload')}&v=1",
        "secret": ctx.hex(32, f"secret-{name}"),
    }


def _webhook_checks(ctx: Ctx) -> None:
    patterns = [
        str(flt.get("pattern", ""))
        for group in ctx.get("filterGroups") or []
        for flt in group.get("filters") or []
        if flt.get("type") == "EVENT"
    ]
    if not any("WORKFLOW_JOB_QUEUED" in pattern for pattern in patterns):
        return
    for project in ctx.created("aws:codebuild/project:Project"):
        if project.get("name") == ctx.get("projectName"):
            source_type = (project.get("source") or {}).get("type")
            if source_type not in ("GITHUB", "GITHUB_ENTERPRISE"):
                raise EmulationError(
                    f"{ctx.urn}: WORKFLOW_JOB_QUEUED works with GitHub and GitHub Enterprise sources only; "
                    f"the project's source is {source_type}"
                )


register(
    Emulation(type="aws:codebuild/project:Project", id=arn_id, compute=_project, checks=(_project_checks,)),
    Emulation(
        type="aws:codebuild/webhook:Webhook",
        id=get("projectName"),
        compute=_webhook,
        checks=(_webhook_checks,),
    ),
)
