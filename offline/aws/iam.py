"""IAM: roles, policies, instance profiles and the OIDC provider."""

from __future__ import annotations

from typing import Any

from ..cloud import AutoName, Ctx, Emulation, register
from .common import NAME_OR_PREFIX, arn_id, by, get


def _iam_role(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"role{path}{ctx.get('name')}", region=False),
        "uniqueId": "AROA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "unique"),
        "createDate": "2024-01-01T00:00:00Z",
        "path": path,
    }


def _iam_policy(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"policy{path}{ctx.get('name')}", region=False),
        "policyId": "ANPA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "policy"),
        "path": path,
    }


def _instance_profile(ctx: Ctx) -> dict[str, Any]:
    path = ctx.get("path", "/")
    return {
        "arn": ctx.arn("iam", f"instance-profile{path}{ctx.get('name')}", region=False),
        "uniqueId": "AIPA" + ctx.chars(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "unique"),
    }


def _oidc_provider(ctx: Ctx) -> dict[str, Any]:
    url = str(ctx.get("url", "")).removeprefix("https://")
    return {"arn": ctx.arn("iam", f"oidc-provider/{url}", region=False)}


register(
    # IAM
    Emulation(
        type="aws:iam/role:Role",
        id=get("name"),
        autonames=(AutoName("name", maxlen=64, prefix_prop="namePrefix"),),
        compute=_iam_role,
    ),
    Emulation(
        type="aws:iam/policy:Policy",
        id=arn_id,
        autonames=(NAME_OR_PREFIX,),
        compute=_iam_policy,
    ),
    Emulation(
        type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        id=lambda ctx: f"{ctx.get('role')}-{ctx.digits(26)}",
    ),
    Emulation(
        type="aws:iam/rolePolicy:RolePolicy",
        id=by("role", "name"),
        autonames=(NAME_OR_PREFIX,),
    ),
    Emulation(
        type="aws:iam/instanceProfile:InstanceProfile",
        id=get("name"),
        autonames=(NAME_OR_PREFIX,),
        compute=_instance_profile,
    ),
    Emulation(type="aws:iam/openIdConnectProvider:OpenIdConnectProvider", id=arn_id, compute=_oidc_provider),
)
