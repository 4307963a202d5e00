"""``nexus:alb``: the Pulumi-owned Application Load Balancer in front of the API pods."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from stacks.config.base import ConfigModel

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

CERTIFICATE_ARN_PATTERN: Final = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"

# A fully qualified DNS name of at least two labels (RFC 1123 host names), lowercase, no trailing dot.
DOMAIN_NAME_PATTERN: Final = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class AlbConfig(ConfigModel):
    """``nexus:alb``: the internet-facing ALB."""

    allowed_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1)
    """Client CIDRs admitted on 80/443 (a public API: the whole internet by default)."""
    certificate_arn: str | None = Field(default=None, pattern=CERTIFICATE_ARN_PATTERN)
    """ACM certificate for the HTTPS listener; without one the ALB serves plain HTTP (dev only)."""
    domain_name: str | None = Field(default=None, pattern=DOMAIN_NAME_PATTERN, max_length=253)
    """The API's DNS name: the name the certificate is for, and the host of the ``url`` output."""
    target_port: int = Field(default=8080, ge=1024, le=65535)
    """Container port of the API pods (NEXUS_PORT); the ALB's security group reaches the pods on it."""
    deregistration_delay_seconds: int = Field(default=30, ge=0, le=3600)
    """Seconds the ALB drains a deregistered pod; the API's preStop sleep must cover it."""
    idle_timeout: int = Field(default=60, ge=1, le=4000)
    """Seconds a client connection may stay idle."""
    access_logs: bool = False
    """Write access logs to the stack's log bucket (prod requires it)."""

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise PydanticCustomError(
                    "cidr",
                    "'{cidr}' is not a CIDR such as 0.0.0.0/0 or 203.0.113.0/24 ({exc})",
                    {"cidr": cidr, "exc": str(exc)},
                ) from exc
        return value

    @property
    def https(self) -> bool:
        """Whether the ALB terminates TLS (a certificate is configured)."""
        return self.certificate_arn is not None


def alb_problems(config: StackConfig) -> list[str]:
    """Cross-check: access logs need the log bucket; prod serves HTTPS only and keeps access logs."""
    problems = []
    storage = getattr(config, "storage", None)  # nexus:storage, owned by the cache/storage section
    if config.alb.access_logs and storage is not None and not storage.access_logs:
        problems.append(
            "nexus:alb.accessLogs: the ALB writes its logs to the access-log bucket, which exists only with "
            "nexus:storage.accessLogs: true; turn that on or turn this off"
        )
    if config.alb.domain_name is not None and config.alb.certificate_arn is None:
        problems.append(
            "nexus:alb.domainName: the url is https://<domainName>, which needs nexus:alb.certificateArn "
            "(an ACM certificate for that name); set both, or neither (dev: plain HTTP on the ALB's own name)"
        )
    if not config.is_prod:
        return problems
    if config.alb.certificate_arn is None:
        problems.append(
            "nexus:alb.certificateArn: prod serves HTTPS only (HTTP redirects to it); set the ARN of an ACM "
            "certificate in the stack's region"
        )
    if config.alb.certificate_arn is not None and config.alb.domain_name is None:
        problems.append(
            "nexus:alb.domainName: required with nexus:alb.certificateArn: the name the certificate is for, "
            "which the url output uses (an ALB's own DNS name can carry no ACM certificate)"
        )
    if not config.alb.access_logs:
        problems.append("nexus:alb.accessLogs: prod keeps ALB access logs; set it to true")
    return problems
