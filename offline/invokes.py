"""Answers to the provider functions (invokes) a program may call, keyed by token.

An invoke without an entry fails the run with a message naming the token: a lookup that silently returned
nothing would make the program build on empty values. Add an entry with ``register_invoke``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from . import zones as zones_
from .cloud import ACCOUNT_ID, DNS_SUFFIX, PARTITION, EmulationError

Invoke = Callable[[Mapping[str, Any], str], Mapping[str, Any]]
"""(arguments, region) -> result."""

_INVOKES: dict[str, Invoke] = {}

_ELB_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-central-1": "054676820928",
}


def register_invoke(token: str) -> Callable[[Invoke], Invoke]:
    """Decorator: answer the invoke ``token``."""

    def wrap(fn: Invoke) -> Invoke:
        _INVOKES[token] = fn
        return fn

    return wrap


def answer(token: str, args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    """The result of an invoke, or EmulationError for one the offline engine does not emulate."""
    fn = _INVOKES.get(token)
    if fn is None:
        raise EmulationError(
            f"the offline engine does not emulate the invoke {token!r}; add it in offline/invokes.py "
            f"(emulated: {', '.join(sorted(_INVOKES))})"
        )
    return fn(args, region)


def emulated_invokes() -> frozenset[str]:
    """Tokens with an answer."""
    return frozenset(_INVOKES)


_ZONE_FILTERS: dict[str, Callable[[zones_.Zone], str]] = {
    # The DescribeAvailabilityZones filters a zone list needs (EC2 API reference, DescribeAvailabilityZones).
    "zone-type": lambda zone: zone.zone_type,
    "opt-in-status": lambda zone: zone.opt_in_status,
    "state": lambda zone: zone.state,
    "zone-name": lambda zone: zone.name,
    "zone-id": lambda zone: zone.zone_id,
    "group-name": lambda zone: zone.group_name,
}


@register_invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def _zones(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    # As AWS answers (offline/zones.py): Local Zones the account opted into are listed with the region's AZs
    # unless a zone-type filter keeps them out; names map to ids per account, not letter by letter.
    listed = [
        zone
        for zone in zones_.zones(str(args.get("region") or region))
        if args.get("allAvailabilityZones") or zone.opt_in_status != "not-opted-in"
    ]
    if args.get("state"):
        listed = [zone for zone in listed if zone.state == args["state"]]
    for entry in args.get("filters") or []:
        field = _ZONE_FILTERS.get(str(entry.get("name")))
        if field is None:
            raise EmulationError(
                f"getAvailabilityZones: the filter {entry.get('name')!r} is not emulated (EC2 would answer "
                f"InvalidParameterValue for an unknown one); emulated: {', '.join(sorted(_ZONE_FILTERS))}"
            )
        listed = [zone for zone in listed if field(zone) in set(entry.get("values") or [])]
    excluded_names = set(args.get("excludeNames") or [])
    excluded_ids = set(args.get("excludeZoneIds") or [])
    listed = sorted(
        (z for z in listed if z.name not in excluded_names and z.zone_id not in excluded_ids),
        key=lambda zone: zone.name,
    )
    return {
        "id": region,
        "names": [zone.name for zone in listed],
        "zoneIds": [zone.zone_id for zone in listed],
        "groupNames": sorted({zone.group_name for zone in listed}),
        "state": args.get("state"),
    }


@register_invoke("aws:index/getCallerIdentity:getCallerIdentity")
def _caller(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/offline-preview",
        "userId": "AIDAOFFLINEPREVIEW0000",
    }


@register_invoke("aws:index/getRegion:getRegion")
def _region(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    name = args.get("region") or args.get("name") or region
    return {
        "id": name,
        "region": name,
        "name": name,
        "endpoint": f"ec2.{name}.{DNS_SUFFIX}",
        "description": name,
    }


@register_invoke("aws:index/getPartition:getPartition")
def _partition(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    return {
        "id": PARTITION,
        "partition": PARTITION,
        "dnsSuffix": DNS_SUFFIX,
        "reverseDnsPrefix": "com.amazonaws",
    }


@register_invoke("aws:elb/getServiceAccount:getServiceAccount")
def _elb_account(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    account = _ELB_ACCOUNTS.get(str(args.get("region") or region), "127311923021")
    return {"id": account, "arn": f"arn:{PARTITION}:iam::{account}:root"}


def _one_or_list(values: list[Any]) -> Any:
    # Terraform's policy document renders a single-element list as a plain string.
    return (
        values[0]
        if len(values) == 1
        else sorted(values)
        if all(isinstance(v, str) for v in values)
        else values
    )


def _statement(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if raw.get("sid"):
        out["Sid"] = raw["sid"]
    out["Effect"] = raw.get("effect") or "Allow"
    for key, field in (
        ("actions", "Action"),
        ("notActions", "NotAction"),
        ("resources", "Resource"),
        ("notResources", "NotResource"),
    ):
        if raw.get(key):
            out[field] = _one_or_list(list(raw[key]))
    for key, field in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if raw.get(key):
            principals: dict[str, Any] = {}
            for principal in raw[key]:
                identifiers = list(principal.get("identifiers") or [])
                if principal.get("type") == "*" and identifiers == ["*"]:
                    principals = {"*": "*"}
                    break
                principals[principal["type"]] = _one_or_list(identifiers)
            out[field] = "*" if principals == {"*": "*"} else principals
    if raw.get("conditions"):
        conditions: dict[str, dict[str, Any]] = {}
        for condition in raw["conditions"]:
            conditions.setdefault(condition["test"], {})[condition["variable"]] = _one_or_list(
                list(condition.get("values") or [])
            )
        out["Condition"] = conditions
    return out


@register_invoke("aws:iam/getPolicyDocument:getPolicyDocument")
def _policy_document(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = [_statement(statement) for statement in args.get("statements") or []]
    pretty = json.dumps(document, indent=2)
    return {
        "id": hashlib.sha256(pretty.encode()).hexdigest()[:10],
        "json": pretty,
        "minifiedJson": json.dumps(document, separators=(",", ":")),
    }


@register_invoke("aws:ssm/getParameter:getParameter")
def _ssm_parameter(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    name = str(args.get("name"))
    digest = hashlib.sha256(f"{region}|{name}".encode()).hexdigest()
    if name.endswith("image_id"):
        value = f"ami-{digest[:17]}"
    elif name.endswith("release_version"):
        value = "1.33.0-20250101"
    else:
        value = f"offline-{digest[:12]}"
    return {
        "id": name,
        "name": name,
        "arn": f"arn:{PARTITION}:ssm:{region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}",
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
        "withDecryption": args.get("withDecryption", True),
    }


@register_invoke("aws:eks/getAddonVersion:getAddonVersion")
def _addon_version(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    # DescribeAddonVersions answers per Kubernetes version (EKS API reference): the default version differs
    # from minor to minor, so the emulated one does too (its shape is EKS's, its figures are not).
    kubernetes_version = str(args.get("kubernetesVersion") or "")
    if not kubernetes_version:
        raise EmulationError("eks.getAddonVersion needs kubernetesVersion (a required argument)")
    minor = kubernetes_version.split(".")[-1]
    return {
        "id": str(args.get("addonName")),
        "addonName": args.get("addonName"),
        "kubernetesVersion": kubernetes_version,
        "version": f"v1.0.{minor}-eksbuild.1",
        "mostRecent": args.get("mostRecent", False),
    }


@register_invoke("aws:ec2/getAmi:getAmi")
def _ami(args: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "id": f"ami-{digest[:17]}",
        "imageId": f"ami-{digest[:17]}",
        "architecture": "x86_64",
        "name": f"offline-{digest[:8]}",
        "ownerId": ACCOUNT_ID,
    }
