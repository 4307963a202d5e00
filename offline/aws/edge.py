"""Load balancing (ALB/NLB, target groups, listeners; names ELBv2 accepts), ACM, Route 53, auto scaling."""

from __future__ import annotations

from typing import Any

from ..cloud import DNS_SUFFIX, AutoName, Ctx, Emulation, register
from .common import ALNUM_HYPHEN, arn_id, by

# Hosted zone ids AWS publishes for us-east-1 (ALB, S3, RDS); other regions use the same shapes.
_ALB_ZONE = "Z35SXDOTRQ7X7K"
_NLB_ZONE = "Z26RNL4JYFTOTI"


def _load_balancer(ctx: Ctx) -> dict[str, Any]:
    name = ctx.get("name")
    kind = ctx.get("loadBalancerType") or "application"
    suffix = f"{'app' if kind == 'application' else 'net'}/{name}/{ctx.hex(16, 'lb')}"
    internal = "internal-" if ctx.get("internal") else ""
    return {
        "arn": ctx.arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
        "arnSuffix": suffix,
        "dnsName": f"{internal}{name}-{ctx.digits(10, 'dns')}.{ctx.region}.elb.{DNS_SUFFIX}",
        "zoneId": _ALB_ZONE if kind == "application" else _NLB_ZONE,
        "loadBalancerType": kind,
        "vpcId": f"vpc-{ctx.hex(17, 'vpc')}",
    }


def _target_group(ctx: Ctx) -> dict[str, Any]:
    suffix = f"targetgroup/{ctx.get('name')}/{ctx.hex(16, 'tg')}"
    return {"arn": ctx.arn("elasticloadbalancing", suffix), "arnSuffix": suffix, "loadBalancerArns": []}


def _listener(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn("elasticloadbalancing", f"listener/app/lb/{ctx.hex(16, 'lb')}/{ctx.hex(16, 'id')}")
    }


def _listener_rule(ctx: Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn(
            "elasticloadbalancing", f"listener-rule/app/lb/{ctx.hex(16, 'lb')}/{ctx.hex(16, 'id')}"
        )
    }


def _certificate(ctx: Ctx) -> dict[str, Any]:
    domains = [ctx.get("domainName"), *(ctx.get("subjectAlternativeNames") or [])]
    return {
        "arn": ctx.arn("acm", f"certificate/{ctx.uuid('cert')}"),
        "status": "PENDING_VALIDATION" if ctx.get("validationMethod") == "DNS" else "ISSUED",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{ctx.hex(32, f'dvo-{domain}')}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{ctx.hex(32, f'dvo-value-{domain}')}.acm-validations.aws.",
            }
            for domain in domains
            if domain
        ],
    }


def _zone(ctx: Ctx) -> dict[str, Any]:
    zone_id = "Z" + ctx.chars(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "zone")
    return {
        "zoneId": zone_id,
        "arn": f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{index}.awsdns-{index:02d}.org" for index in range(1, 5)],
    }


# ELBv2 names: the sources are cited at ALNUM_HYPHEN in common.py (terraform-provider-aws
# internal/service/elbv2/validate.go validName and validTargetGroupName; pulumi-aws lb/*.py ``name``).
def _lb_name(ctx: Ctx) -> str | None:
    value = str(ctx.get("name") or "")
    errors = []
    if len(value) > 32:
        errors.append(f'"name" cannot be longer than 32 characters: "{value}"')
    if not ALNUM_HYPHEN.match(value):
        errors.append(f'only alphanumeric characters and hyphens allowed in "name": "{value}"')
    if value.startswith("-"):
        errors.append(f'"name" cannot begin with a hyphen: "{value}"')
    if value.endswith("-"):
        errors.append(f'"name" cannot end with a hyphen: "{value}"')
    if value.startswith("internal-"):
        errors.append(f'"name" cannot begin with "internal-": "{value}"')
    return "; ".join(errors) or None


def _target_group_name(ctx: Ctx) -> str | None:
    value = str(ctx.get("name") or "")
    errors = []
    if len(value) > 32:
        errors.append('"name" cannot be longer than 32 characters')
    if not ALNUM_HYPHEN.match(value):
        errors.append('only alphanumeric characters and hyphens allowed in "name"')
    if value.startswith("-"):
        errors.append('"name" cannot begin with a hyphen')
    if value.endswith("-"):
        errors.append('"name" cannot end with a hyphen')
    return "; ".join(errors) or None


register(
    # Load balancing, certificates, DNS, auto scaling
    Emulation(
        type="aws:lb/loadBalancer:LoadBalancer",
        id=arn_id,
        # pulumi-aws gives aws_lb no auto-name length of its own (provider/legacy aliases: no Fields), so
        # setAutonaming's default applies (provider/autonaming.go: AutoName("name", 255, "-")) and a long
        # generated name is refused by Terraform's validName instead.
        autonames=(AutoName("name", maxlen=255, prefix_prop="namePrefix"),),
        checks=(_lb_name,),
        compute=_load_balancer,
    ),
    Emulation(
        type="aws:lb/targetGroup:TargetGroup",
        id=arn_id,
        # pulumi-aws: "name": tfbridge.AutoName("name", 32, "-") (aws_lb_target_group's ResourceInfo).
        autonames=(AutoName("name", maxlen=32, prefix_prop="namePrefix"),),
        checks=(_target_group_name,),
        compute=_target_group,
    ),
    Emulation(type="aws:lb/listener:Listener", id=arn_id, compute=_listener),
    Emulation(type="aws:lb/listenerRule:ListenerRule", id=arn_id, compute=_listener_rule),
    Emulation(
        type="aws:lb/targetGroupAttachment:TargetGroupAttachment",
        id=lambda ctx: f"{ctx.get('targetGroupArn')}-{ctx.digits(20)}",
    ),
    Emulation(type="aws:acm/certificate:Certificate", id=arn_id, compute=_certificate),
    Emulation(
        type="aws:acm/certificateValidation:CertificateValidation",
        id=lambda ctx: "2024-01-01 00:00:00 +0000 UTC",
    ),
    Emulation(type="aws:route53/zone:Zone", id=lambda ctx: str(ctx.state["zoneId"]), compute=_zone),
    Emulation(
        type="aws:route53/record:Record",
        id=by("zoneId", "name", "type", sep="_"),
        compute=lambda ctx: {"fqdn": str(ctx.get("name")).rstrip(".")},
    ),
    Emulation(
        type="aws:autoscaling/attachment:Attachment",
        id=lambda ctx: f"{ctx.get('autoscalingGroupName')}-{ctx.digits(20)}",
    ),
)
