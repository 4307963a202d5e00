"""WAFv2 (web ACLs, their associations and logging) and SNS (topics, subscriptions).

The checks are the ones the bridged provider runs before any AWS call (terraform-provider-aws ValidateFuncs)
or that the pulumi-aws docstrings state as AWS's own rules, each cited where it is written.
"""

from __future__ import annotations

import re
from typing import Any

from ..cloud import Ctx, Emulation, register
from .common import NAME_OR_PREFIX, arn_id, by

# terraform-provider-aws internal/service/wafv2 (web_acl.go name; the visibility_config schema's
# metric_name): StringLenBetween(1, 128) and `^[0-9A-Za-z_-]+$`, "must contain only alphanumeric hyphen and
# underscore characters".
WAF_NAME = re.compile(r"^[0-9A-Za-z_-]{1,128}$")
# internal/service/wafv2/schemas.go rateBasedStatementSchema: limit IntBetween(10, 2000000000);
# evaluation_window_sec IntInSlice(60, 120, 300, 600), default 300.
RATE_LIMIT = (10, 2_000_000_000)
RATE_WINDOWS = (60, 120, 300, 600)
# pulumi_aws/wafv2/web_acl_logging_configuration.py, docstring of log_destination_configs: the firehose, log
# group or bucket name "must be prefixed with `aws-waf-logs-`".
WAF_LOG_PREFIX = "aws-waf-logs-"
# pulumi_aws/wafv2/web_acl_association.py, docstring of resource_arn: an ALB, an API Gateway stage, a
# Cognito user pool, an AppSync API, an App Runner service, an Amplify app, a Bedrock AgentCore gateway or a
# Verified Access instance.
REGIONAL_RESOURCE = re.compile(
    r"^arn:aws[a-z-]*:(elasticloadbalancing:[^:]+:\d{12}:loadbalancer/app/|apigateway:|appsync:|"
    r"cognito-idp:|apprunner:|amplify:|bedrock-agentcore:|ec2:[^:]+:\d{12}:verified-access-instance/)"
)
# pulumi_aws/sns/topic.py, docstring of name: "uppercase and lowercase ASCII letters, numbers, underscores,
# and hyphens, and must be between 1 and 256 characters long"; a FIFO topic ends in .fifo.
TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$|^[A-Za-z0-9_-]{1,251}\.fifo$")
# pulumi_aws/sns/topic_subscription.py, docstring of protocol.
SNS_PROTOCOLS = ("sqs", "sms", "lambda", "firehose", "application", "email", "email-json", "http", "https")


def _web_acl(ctx: Ctx) -> dict[str, Any]:
    scope = "global" if ctx.get("scope") == "CLOUDFRONT" else "regional"
    acl_id = ctx.uuid("webacl")
    return {
        "arn": ctx.arn("wafv2", f"{scope}/webacl/{ctx.get('name')}/{acl_id}"),
        "capacity": 0,
        "lockToken": ctx.uuid("lock"),
        "applicationIntegrationUrl": "",
    }


def _metric_problems(where: str, visibility: Any) -> list[str]:
    metric = str((visibility or {}).get("metricName") or "")
    if not WAF_NAME.match(metric):
        return [
            f"{where}.metric_name {metric!r} must contain only alphanumeric hyphen and underscore "
            "characters (1-128)"
        ]
    return []


def _web_acl_checks(ctx: Ctx) -> str | None:
    problems: list[str] = []
    name = str(ctx.get("name") or "")
    if not WAF_NAME.match(name):
        problems.append(f"name {name!r} must contain only alphanumeric hyphen and underscore characters")
    if ctx.get("scope") not in ("REGIONAL", "CLOUDFRONT"):
        problems.append(f"scope {ctx.get('scope')!r}: expected REGIONAL or CLOUDFRONT")
    problems += _metric_problems("visibility_config", ctx.get("visibilityConfig"))
    for index, rule in enumerate(ctx.get("rules") or []):
        problems += _metric_problems(f"rule.{index}.visibility_config", rule.get("visibilityConfig"))
        rate = ((rule.get("statement") or {}).get("rateBasedStatement")) or None
        if rate is None:
            continue
        # Numbers cross the engine as floats (protobuf Value); the schema's TypeInt takes integral values.
        limit = rate.get("limit")
        if (
            not isinstance(limit, int | float)
            or limit != int(limit)
            or not RATE_LIMIT[0] <= limit <= RATE_LIMIT[1]
        ):
            problems.append(
                f"expected rule.{index}.statement.0.rate_based_statement.0.limit to be in the range "
                f"({RATE_LIMIT[0]} - {RATE_LIMIT[1]}), got {limit}"
            )
        window = rate.get("evaluationWindowSec", 300)
        if window not in RATE_WINDOWS:  # 300.0 == 300: floats of integral value match
            problems.append(
                f"expected rule.{index}.statement.0.rate_based_statement.0.evaluation_window_sec to be one "
                f"of {list(RATE_WINDOWS)}, got {window}"
            )
    return "; ".join(problems) or None


def _association_checks(ctx: Ctx) -> str | None:
    arn = str(ctx.get("resourceArn") or "")
    if not REGIONAL_RESOURCE.match(arn):
        return f"resource_arn {arn!r} is not a resource a regional web ACL can protect (e.g. an ALB)"
    return None


def _logging_checks(ctx: Ctx) -> str | None:
    destinations = list(ctx.get("logDestinationConfigs") or [])
    if len(destinations) != 1:
        # WAFV2 API reference, LoggingConfiguration: "You can define one logging destination per web ACL".
        return f"log_destination_configs: exactly one destination, got {len(destinations)}"
    name = str(destinations[0]).rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if not name.startswith(WAF_LOG_PREFIX):
        return f"log_destination_configs: the destination's name {name!r} must start with {WAF_LOG_PREFIX}"
    return None


def _topic(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn("sns", str(ctx.get("name"))), "owner": ctx.account}


def _topic_checks(ctx: Ctx) -> str | None:
    name = str(ctx.get("name") or "")
    if not TOPIC_NAME.match(name):
        return (
            f"name {name!r}: topic names are 1-256 ASCII letters, numbers, underscores and hyphens "
            "(a FIFO topic ends in .fifo)"
        )
    return None


def _subscription(ctx: Ctx) -> dict[str, Any]:
    return {"arn": f"{ctx.get('topic')}:{ctx.uuid('subscription')}", "ownerId": ctx.account}


def _subscription_checks(ctx: Ctx) -> str | None:
    protocol = ctx.get("protocol")
    if protocol not in SNS_PROTOCOLS:
        return f"protocol {protocol!r}: expected one of {', '.join(SNS_PROTOCOLS)}"
    endpoint = str(ctx.get("endpoint") or "")
    if protocol == "https" and not endpoint.startswith("https://"):
        return f"endpoint {endpoint!r}: the https protocol needs an https:// URL"
    if protocol in ("email", "email-json") and "@" not in endpoint:
        return f"endpoint {endpoint!r}: the email protocol needs an e-mail address"
    return None


register(
    Emulation(
        type="aws:wafv2/webAcl:WebAcl",
        id=lambda ctx: str(ctx.state["arn"]).rsplit("/", 1)[-1],
        autonames=(NAME_OR_PREFIX,),
        compute=_web_acl,
        checks=(_web_acl_checks,),
    ),
    Emulation(
        type="aws:wafv2/webAclAssociation:WebAclAssociation",
        id=by("webAclArn", "resourceArn", sep=","),
        checks=(_association_checks,),
    ),
    Emulation(
        type="aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        id=lambda ctx: str(ctx.get("resourceArn")),
        checks=(_logging_checks,),
    ),
    Emulation(
        type="aws:sns/topic:Topic",
        id=arn_id,
        autonames=(NAME_OR_PREFIX,),
        compute=_topic,
        checks=(_topic_checks,),
    ),
    Emulation(
        type="aws:sns/topicSubscription:TopicSubscription",
        id=arn_id,
        compute=_subscription,
        checks=(_subscription_checks,),
    ),
)
