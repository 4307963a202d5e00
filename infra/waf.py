"""The WAFv2 web ACL in front of the API: a per-IP rate limit and two AWS managed rule groups, with logs.

Rule order (lower priority first): the rate rule blocks a flooding client before any other rule spends
capacity on it; AWSManagedRulesCommonRuleSet (the OWASP-style baseline) and
AWSManagedRulesKnownBadInputsRuleSet (Log4Shell, request patterns of known exploits) follow, with their own
actions (``override_action`` none). Everything else is allowed. Every rule and the ACL itself publish
CloudWatch metrics (namespace AWS/WAFV2, metric name = the rule's ``metric_name``) and keep sampled requests.

Logs go to a CloudWatch log group whose name starts with ``aws-waf-logs-``: WAF refuses any other destination
name (pulumi_aws/wafv2/web_acl_logging_configuration.py, docstring of log_destination_configs). The
Authorization header is redacted from the logs: it carries the callers' bearer tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

LOG_GROUP_PREFIX: Final = "aws-waf-logs-"
MANAGED_RULE_GROUPS: Final = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
"""AWS managed rule groups (vendor AWS), in priority order after the rate rule."""
REDACTED_HEADER: Final = "authorization"


@dataclass(frozen=True, kw_only=True)
class ApiFirewallArgs:
    """Inputs of an ApiFirewall."""

    load_balancer_arn: pulumi.Input[str]
    """The ALB the ACL protects."""
    rate_limit: int
    """Requests per client IP per window before the rate rule blocks (10 to 2e9)."""
    rate_window_seconds: int
    """The rate rule's evaluation window (60, 120, 300 or 600)."""
    log_retention_days: int
    """Days the WAF log group keeps its logs."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of the log group (None: CloudWatch Logs' default encryption)."""


def metric_name(name: str, rule: str) -> str:
    """A rule's CloudWatch metric name: the ACL's name and the rule's, alphanumerics and hyphens only."""
    return f"{name}-{rule}".replace("_", "-")


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def rules(name: str, rate_limit: int, window: int) -> list[aws.wafv2.WebAclRuleArgs]:
    """The ACL's rules: the per-IP rate rule, then the managed rule groups."""
    rate = aws.wafv2.WebAclRuleArgs(
        name="per-ip-rate-limit",
        priority=0,
        action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
        statement=aws.wafv2.WebAclRuleStatementArgs(
            rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=window
            )
        ),
        visibility_config=_rule_visibility(metric_name(name, "rate-limit")),
    )
    managed = [
        aws.wafv2.WebAclRuleArgs(
            name=group,
            priority=index,
            # "none": the group's own rule actions (block) apply; "count" would only observe.
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
            ),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    vendor_name="AWS", name=group
                )
            ),
            visibility_config=_rule_visibility(metric_name(name, group)),
        )
        for index, group in enumerate(MANAGED_RULE_GROUPS, start=1)
    ]
    return [rate, *managed]


class ApiFirewall(pulumi.ComponentResource):
    """Regional web ACL, its association with the ALB, and its logging into CloudWatch Logs."""

    web_acl_arn: pulumi.Output[str]
    """ARN of the web ACL."""
    log_group_name: pulumi.Output[str]
    """The aws-waf-logs-* log group."""

    def __init__(self, name: str, args: ApiFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:waf:ApiFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=name,
            description=f"{name}: per-IP rate limit, AWS common and known-bad-inputs rule groups",
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules(name, args.rate_limit, args.rate_window_seconds),
            visibility_config=_visibility(metric_name(name, "acl")),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-alb",
            resource_arn=args.load_balancer_arn,
            web_acl_arn=acl.arn,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"{LOG_GROUP_PREFIX}{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=REDACTED_HEADER
                    )
                )
            ],
            opts=child,
        )
        self.web_acl_arn = acl.arn
        self.log_group_name = log_group.name
        self.register_outputs({"webAclArn": self.web_acl_arn, "logGroupName": self.log_group_name})
