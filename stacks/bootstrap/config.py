"""The bootstrap's config boundary: raw ``nexus-bootstrap:*`` config in, a validated BootstrapConfig out.

Problems are reported like the main stacks' (one line each, the key path first, what would be valid), and
example values (stacks/config/placeholders.py) stop a real ``pulumi up`` in the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from stacks.config.base import ConfigModel

NAMESPACE = "nexus-bootstrap"
KNOWN_KEYS = ("environment", "github", "runner")
REPOSITORY_PATTERN = r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$"
CONNECTION_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
STACK_NAME_PATTERN = r"^(|organization/nexus/[A-Za-z0-9._-]+)$"
"""A fully qualified stack of the main project on the same DIY backend: the literal organisation
``organization`` (pulumi/pulumi#12173: project-scoped stacks in self-managed backends), project ``nexus``."""


class BootstrapError(Exception):
    """The bootstrap config is invalid; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class GitHubConfig(ConfigModel):
    """``nexus-bootstrap:github``."""

    repository: str = Field(pattern=REPOSITORY_PATTERN)
    """``<owner>/<repository>`` whose workflows may assume the CI roles."""
    existing_oidc_provider_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$",
    )
    """The account's existing provider for GitHub (IAM keeps one per URL): set it when dev and prod share an
    account, or another project created it."""


class RunnerConfig(ConfigModel):
    """``nexus-bootstrap:runner``."""

    connection_arn: str = Field(pattern=CONNECTION_ARN_PATTERN)
    """CodeConnections connection to GitHub, authorised once in the console (docs/operations.md)."""
    network_stack: str = Field(default="", pattern=STACK_NAME_PATTERN)
    """``organization/nexus/<stack>`` once that stack's network exists: the runner moves into its VPC.
    Empty: no runner yet (the first bootstrap of an account)."""
    compute_type: Literal["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"] = (
        "BUILD_GENERAL1_MEDIUM"
    )
    """CodeBuild compute type of each job (MEDIUM: 4 vCPU, 7 GB)."""


class BootstrapConfig(ConfigModel):
    """Everything the bootstrap program reads."""

    region: str
    environment: Literal["dev", "prod"]
    github: GitHubConfig
    runner: RunnerConfig

    @property
    def name_prefix(self) -> str:
        """``nexus-<environment>``: the prefix of every name, as the main stack of that environment has."""
        return f"nexus-{self.environment}"


def load_bootstrap(raw: Mapping[str, str]) -> BootstrapConfig:
    """Validate raw engine config (``namespace:key`` -> string, JSON for structures)."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for full_key in sorted(raw):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE:
            if key not in KNOWN_KEYS:
                valid = ", ".join(f"{NAMESPACE}:{k}" for k in KNOWN_KEYS)
                problems.append(f"{full_key}: unknown key; valid keys are: {valid}")
                continue
            try:
                values[key] = json.loads(raw[full_key])
            except ValueError:
                values[key] = raw[full_key]
        elif namespace not in ("aws", "pulumi"):
            problems.append(
                f"{full_key}: unknown namespace {namespace!r} (this project reads {NAMESPACE}:*, aws:*)"
            )
    values["region"] = raw.get("aws:region")
    if values["region"] is None:
        problems.append("aws:region: required key is missing; set it in the stack file, e.g. us-east-1")
    try:
        config = BootstrapConfig.model_validate_json(json.dumps(values), strict=True)
    except ValidationError as exc:
        problems += [_line(error) for error in exc.errors(include_url=False)]
        raise BootstrapError(problems) from None
    if problems:
        raise BootstrapError(problems)
    return config


def _line(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    head = "aws:region" if loc[:1] == ["region"] else f"{NAMESPACE}:{'.'.join(loc)}"
    if error["type"] == "missing":
        return f"{head}: required key is missing"
    if error["type"] == "unknown_key":
        return f"{head}: {error['msg']}"
    return f"{head}: {error['msg']}; got {json.dumps(error.get('input'))[:80]}"
