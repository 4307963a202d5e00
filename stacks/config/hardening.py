"""Production hardening sections: ``nexus:waf``, ``nexus:alarms``, ``nexus:logs`` and ``nexus:vpcEndpoints``.

Every switch here is on in prod (the cross-check below refuses prod without it) and may be turned off in dev,
where the cost matters more than the protection; each default is the prod value except the switches, which
default off so that a new small stack stays cheap until it says otherwise.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from stacks.config.aws_values import LOG_RETENTION_DAYS
from stacks.config.base import ConfigModel

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# A practical e-mail shape (SNS itself accepts any string for the email protocol and mails it a confirmation;
# a typo would silently page nobody, so the config refuses what cannot be an address).
EMAIL_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The services whose interface endpoints a stack may ask for (com.amazonaws.<region>.<service>); the defaults
# are what image pulls, Pod Identity credentials, logs and the proxies' secrets need without a NAT gateway.
EndpointService = Literal[
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "secretsmanager",
    "eks-auth",
    "eks",
    "monitoring",
    "elasticloadbalancing",
    "ec2",
    "kms",
]


DEFAULT_ENDPOINTS: Final[tuple[EndpointService, ...]] = (
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "secretsmanager",
    "eks-auth",
)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise PydanticCustomError(
            "retention",
            "{days} is not a retention CloudWatch Logs accepts; use one of {valid}",
            {"days": value, "valid": ", ".join(str(days) for days in LOG_RETENTION_DAYS)},
        )
    return value


class WafConfig(ConfigModel):
    """``nexus:waf``: the WAFv2 web ACL on the public ALB."""

    enabled: bool = False
    """Attach a web ACL (per-IP rate limit, AWS common and known-bad-inputs rule groups) to the ALB (prod
    requires it)."""
    rate_limit: int = Field(default=2000, ge=10, le=2_000_000_000)
    """Requests one client IP may send per rate window before WAF blocks it (WAF's range: 10 to 2e9)."""
    rate_window_seconds: Literal[60, 120, 300, 600] = 300
    """The rate rule's evaluation window in seconds (WAF accepts 60, 120, 300 or 600)."""
    log_retention_days: int = 90
    """Days the WAF log group (aws-waf-logs-*) keeps request logs."""

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return _retention(value)


class AlarmsConfig(ConfigModel):
    """``nexus:alarms``: the stack's SNS topic, who it notifies, and the alarm thresholds."""

    emails: list[str] = Field(default_factory=list)
    """E-mail addresses subscribed to the stack's alarm topic (each confirms once; prod needs at least one
    subscriber)."""
    https_endpoints: list[str] = Field(default_factory=list)
    """HTTPS endpoints subscribed to the topic (a pager or chat webhook; must start with https://)."""
    db_free_storage_gib: int = Field(default=10, ge=1, le=10000)
    """Alarm when a database instance's FreeStorageSpace falls below this many GiB."""
    db_cpu_percent: int = Field(default=80, ge=10, le=100)
    """Alarm when a database instance's CPUUtilization stays above this."""
    db_connections: int = Field(default=400, ge=1, le=100000)
    """Alarm when a database instance's DatabaseConnections exceed this."""
    replica_lag_seconds: int = Field(default=30, ge=1, le=86400)
    """Alarm when a read replica's ReplicaLag exceeds this many seconds."""
    proxy_client_connections: int = Field(default=1000, ge=1, le=1000000)
    """Alarm when an RDS Proxy's ClientConnections exceed this."""
    proxy_borrow_latency_ms: int = Field(default=100, ge=1, le=120000)
    """Alarm when an RDS Proxy's DatabaseConnectionsBorrowLatency (average) exceeds this, milliseconds."""
    alb_server_errors: int = Field(default=20, ge=1, le=1000000)
    """Alarm when the ALB's target and ELB 5xx responses together exceed this per minute."""
    alb_target_response_seconds: float = Field(default=1.0, gt=0, le=60)
    """Alarm when the ALB's p99 TargetResponseTime exceeds this many seconds."""

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not EMAIL_PATTERN.match(email):
                raise PydanticCustomError(
                    "email", "'{email}' is not an e-mail address such as oncall@example.com", {"email": email}
                )
        return value

    @field_validator("https_endpoints")
    @classmethod
    def _https(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith("https://") or len(url) <= len("https://"):
                raise PydanticCustomError("https_endpoint", "'{url}' is not an https:// URL", {"url": url})
        return value

    @property
    def subscribed(self) -> bool:
        """Whether anyone is notified."""
        return bool(self.emails or self.https_endpoints)


class LogsConfig(ConfigModel):
    """``nexus:logs``: log groups that expire, pod logs, bucket access logs, database monitoring."""

    retention_days: int = 90
    """Days the pre-created RDS, RDS Proxy and ElastiCache log groups keep their logs."""
    kms: bool = False
    """Encrypt the stack's log groups (these, the WAF's, flow logs, control plane, pod logs) with the stack's
    logs KMS key, $1 a month (prod requires it)."""
    pod_logs: bool = False
    """Ship container logs to CloudWatch with the EKS amazon-cloudwatch-observability add-on (prod requires
    it)."""
    bucket_access_logs: bool = False
    """S3 server access logs of the uploads bucket into the log bucket (needs nexus:storage.accessLogs;
    prod requires it)."""
    enhanced_monitoring_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = 0
    """RDS Enhanced Monitoring interval of every database instance (0 = off; prod requires it on)."""

    @field_validator("retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return _retention(value)


class VpcEndpointsConfig(ConfigModel):
    """``nexus:vpcEndpoints``: interface endpoints, so image pulls and credentials do not depend on NAT."""

    enabled: bool = False
    """Create the interface endpoints in the private subnets (prod requires it)."""
    services: list[EndpointService] = Field(default_factory=lambda: list(DEFAULT_ENDPOINTS), min_length=1)
    """Services (com.amazonaws.<region>.<service>), one interface endpoint each, one ENI per AZ."""

    @field_validator("services")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "a service is listed twice", {})
        return value


def hardening_problems(config: StackConfig) -> list[str]:
    """Prod turns every hardening switch on; bucket access logs need the log bucket in any stack."""
    problems: list[str] = []
    storage = config.storage
    if config.logs.bucket_access_logs and not storage.access_logs:
        problems.append(
            "nexus:logs.bucketAccessLogs: the uploads bucket logs into the access-log bucket, which exists "
            "only with nexus:storage.accessLogs: true; turn that on or turn this off"
        )
    if not config.is_prod:
        return problems
    required = {
        "nexus:waf.enabled": config.waf.enabled,
        "nexus:logs.kms": config.logs.kms,
        "nexus:logs.podLogs": config.logs.pod_logs,
        "nexus:logs.bucketAccessLogs": config.logs.bucket_access_logs,
        "nexus:vpcEndpoints.enabled": config.vpc_endpoints.enabled,
    }
    problems.extend(f"{key}: prod requires it; set it to true" for key, on in required.items() if not on)
    if config.logs.enhanced_monitoring_seconds == 0:
        problems.append(
            "nexus:logs.enhancedMonitoringSeconds: prod monitors its databases; use 1, 5, 10, 15, 30 or 60"
        )
    if not config.alarms.subscribed:
        problems.append(
            "nexus:alarms.emails: prod alarms must reach someone; add an address "
            "(or nexus:alarms.httpsEndpoints)"
        )
    return problems
