"""Small value reshapers used by the mapping table (camelCase Pulumi values into CloudFormation shapes).

Every reshaper that picks fields refuses a field it does not know (``UnmappedFieldError``), so that a new
nested input can't vanish from the template without the coverage test noticing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Shape = Callable[[Any], Any]


class UnmappedFieldError(ValueError):
    """A nested input field that the table does not map."""


def pascal_key(key: str) -> str:
    """``endpointPublicAccess`` -> ``EndpointPublicAccess``."""
    return key[:1].upper() + key[1:]


def pascal(value: Any) -> Any:
    """Every dict key (recursively) in PascalCase: most CloudFormation properties name the API's fields so."""
    if isinstance(value, dict):
        return {pascal_key(str(key)): pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal(item) for item in value]
    return value


def snake(key: str) -> str:
    """``enableDnsHostnames`` -> ``enable_dns_hostnames`` (the Terraform attribute behind a Pulumi name)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def pick(fields: Mapping[str, str | tuple[str, Shape] | None]) -> Shape:
    """A dict (or each dict of a list) reshaped field by field; ``None`` drops a field (listed in the table).

    A field absent from ``fields`` raises ``UnmappedFieldError``.
    """

    def one(item: Any) -> Any:
        out: dict[str, Any] = {}
        for key, value in dict(item).items():
            if key not in fields:
                raise UnmappedFieldError(f"field {key!r} has no mapping (known: {sorted(fields)})")
            target = fields[key]
            if target is None:
                continue
            if isinstance(target, tuple):
                name, shape = target
                out[name] = shape(value)
            else:
                out[target] = value
        return out

    def reshape(value: Any) -> Any:
        return [one(item) for item in value] if isinstance(value, list) else one(value)

    return reshape


def as_bool(value: Any) -> Any:
    """Terraform's tri-state strings (``"true"``/``"false"``) as booleans."""
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return value


def as_str(value: Any) -> str:
    """A scalar as CloudFormation's string-typed numbers and attribute values want it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_doc(value: Any) -> Any:
    """A JSON policy string as an object (cfn-lint checks IAM policy documents given as objects)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def tag_list(tags: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{k: v}`` -> ``[{"Key": k, "Value": v}]``."""
    return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]


def name_value(value: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{k: v}`` -> ``[{"Name": k, "Value": v}]`` (CloudWatch dimensions)."""
    return [{"Name": str(key), "Value": str(item)} for key, item in value.items()]


def first(shape: Shape) -> Shape:
    """The first item of a one-item list, reshaped (a Terraform list block CloudFormation takes as one)."""

    def reshape(value: Any) -> Any:
        items = list(value)
        if len(items) != 1:
            raise UnmappedFieldError(f"expected exactly one item, got {len(items)}")
        return shape(items[0])

    return reshape


def attributes(names: Mapping[str, str]) -> Shape:
    """A dict of settings as ``[{"Key": attribute, "Value": "..."}]`` (ELB attributes), by field name."""

    def reshape(value: Any) -> list[dict[str, str]]:
        out = []
        for key, item in dict(value).items():
            if key not in names:
                raise UnmappedFieldError(f"field {key!r} has no mapping (known: {sorted(names)})")
            out.append({"Key": names[key], "Value": as_str(item)})
        return out

    return reshape


def attribute(name: str) -> Shape:
    """One scalar as one ELB attribute."""
    return lambda value: [{"Key": name, "Value": as_str(value)}]


def const(value: Any) -> Shape:
    """Ignore the input, give ``value``."""
    return lambda _: value
