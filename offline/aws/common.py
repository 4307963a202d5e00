"""Shapes shared by the AWS emulations: EC2-style ids and ARNs, ids built from inputs, auto-names."""

from __future__ import annotations

import re
from typing import Any

from ..cloud import AutoName, Ctx, Emulation


def ec2(prefix: str, kind: str | None = None) -> tuple[Any, Any]:
    """An EC2-style id (``<prefix>-<17 hex>``) and its ARN ``arn:...:ec2:...:<kind>/<id>``."""

    def make_id(ctx: Ctx) -> str:
        return f"{prefix}-{ctx.hex(17, 'id')}"

    def compute(ctx: Ctx) -> dict[str, Any]:
        out: dict[str, Any] = {"ownerId": ctx.account}
        if kind is not None:
            out["arn"] = ctx.arn("ec2", f"{kind}/{make_id(ctx)}")
        return out

    return make_id, compute


def simple_ec2(type_: str, prefix: str, kind: str | None, **extra: Any) -> Emulation:
    make_id, compute = ec2(prefix, kind)
    compute = extra.pop("compute", compute)
    return Emulation(type=type_, id=make_id, compute=compute, **extra)


def named_arn(service: str, kind: str, sep: str = ":") -> Any:
    def compute(ctx: Ctx) -> dict[str, Any]:
        return {"arn": ctx.arn(service, f"{kind}{sep}{ctx.get('name')}")}

    return compute


# ELBv2 and ElastiCache names: the Terraform AWS provider's ValidateFuncs, which the bridged provider runs in
# Check (before any AWS call), with their messages. terraform-provider-aws internal/service/elbv2/validate.go
# validName (aws_lb) and validTargetGroupName (aws_lb_target_group); internal/service/elasticache/
# replication_group.go validateReplicationGroupID (StringLenBetween(1, 40) and four StringMatch rules).
# The pulumi-aws docstrings state the same limits (lb/load_balancer.py and lb/target_group.py ``name``: "can
# have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, and must not begin or
# end with a hyphen").
ALNUM_HYPHEN = re.compile(r"^[0-9A-Za-z-]+$")


def by(*keys: str, sep: str = ":") -> Any:
    """An id made of input values joined by ``sep`` (many association-like resources)."""

    def make_id(ctx: Ctx) -> str:
        return sep.join(str(ctx.get(key, "")) for key in keys)

    return make_id


def get(key: str) -> Any:
    def make_id(ctx: Ctx) -> str:
        return str(ctx.get(key))

    return make_id


def arn_id(ctx: Ctx) -> str:
    return str(ctx.get("arn"))


def prefixed(prefix: str, length: int = 17) -> Any:
    def make_id(ctx: Ctx) -> str:
        return f"{prefix}{ctx.hex(length, 'id')}"

    return make_id


NAME = AutoName("name")
NAME_LOWER = AutoName("name", lower=True)
NAME_OR_PREFIX = AutoName("name", prefix_prop="namePrefix")
