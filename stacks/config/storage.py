"""``nexus:storage``: the S3 uploads bucket and, when on, the load balancer's access-log bucket."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from stacks.config.base import ConfigModel

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# An exact origin: https with a host (and optional port), or plain http to loopback for a local front end.
# No wildcards: a presigned URL is a bearer credential, so only known front ends may read it cross-origin.
ORIGIN_PATTERN = (
    r"^(https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?"
    r"|http://(localhost|127\.0\.0\.1)(:\d{1,5})?)$"
)
ORIGIN_RE = re.compile(ORIGIN_PATTERN)
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
CorsMethod = Literal["GET", "PUT", "POST", "HEAD", "DELETE"]


def _default_methods() -> list[CorsMethod]:
    return ["GET", "PUT"]


class CorsConfig(ConfigModel):
    """One CORS rule of the uploads bucket, for browsers that use presigned URLs directly.

    Lists, not tuples: a model with a before-validator is validated in strict Python mode, which refuses a
    JSON array for a tuple.
    """

    allowed_origins: list[str] = Field(min_length=1)
    """Exact origins, e.g. https://app.example.com (no wildcards)."""
    allowed_methods: list[CorsMethod] = Field(default_factory=_default_methods, min_length=1)
    """HTTP methods the browser may use on presigned URLs."""
    allowed_headers: list[HeaderName] = Field(default_factory=lambda: ["Content-Type"])
    """Request headers the browser may send."""
    expose_headers: list[HeaderName] = Field(default_factory=lambda: ["ETag"])
    """Response headers the browser may read."""
    max_age_seconds: int = Field(default=3000, ge=0, le=86400)
    """How long a browser may cache the preflight answer."""

    @field_validator("allowed_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not ORIGIN_RE.fullmatch(origin):
                raise PydanticCustomError(
                    "origin",
                    "'{origin}' is not an exact origin; use https://host[:port] in lowercase (or "
                    "http://localhost[:port] for a local front end), without a path or wildcard",
                    {"origin": origin},
                )
        return origins


class StorageConfig(ConfigModel):
    """``nexus:storage``: object storage. Objects live under ``tenants/<tenant>/`` in one uploads bucket."""

    noncurrent_version_expiration_days: int = Field(default=30, ge=1, le=3650)
    """Days after which overwritten or deleted object versions are removed for good."""
    abort_incomplete_multipart_days: int = Field(default=7, ge=1, le=365)
    """Days after which unfinished multipart uploads are aborted (their parts cost storage)."""
    cors: CorsConfig | None = None
    """Optional CORS rule of the uploads bucket (default: none, so no browser may call it cross-origin)."""
    access_logs: bool = False
    """Create the ALB access-log bucket (SSE-S3, ELB delivery policy); required in prod."""
    access_log_retention_days: int = Field(default=90, ge=1, le=3650)
    """Days ALB access logs are kept."""


def prod_storage_problems(config: StackConfig) -> list[str]:
    """Prod keeps the load balancer's access logs."""
    if config.is_prod and not config.storage.access_logs:
        return ["nexus:storage.accessLogs: prod keeps ALB access logs; set accessLogs: true"]
    return []
