"""The mapping table's model: a row per Pulumi type, its CloudFormation and Terraform columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..plan import PlanResource
from ..shapes import Shape


@dataclass(frozen=True, slots=True)
class To:
    """An input becomes the CloudFormation property at ``path`` (dotted for nesting), reshaped."""

    path: str
    shape: Shape | None = None
    append: bool = False
    """Extend (or append to) a list at ``path`` instead of setting it (attributes, merged children)."""


@dataclass(frozen=True, slots=True)
class Drop:
    """An input CloudFormation has no property for, and why that is right."""

    reason: str


@dataclass(frozen=True, slots=True)
class Merge:
    """The resource lives inside another CloudFormation resource: the parent of type ``into`` whose state
    ``key`` equals this resource's input ``by``."""

    into: str
    by: str
    key: str
    as_item: str = ""
    """If set, the child's mapped properties form one item appended to this list property of the parent."""


Split = Callable[[PlanResource, str], dict[str, dict[str, Any]]]
"""Extra CloudFormation resources for one Pulumi resource: (resource, its logical id) -> {id: resource}."""


@dataclass(frozen=True, slots=True)
class Cfn:
    """The CloudFormation column of a row."""

    type: str | None
    props: Mapping[str, To | Drop] = field(default_factory=dict)
    name: tuple[str, str] | None = None
    """(state key, property): the physical name as Pulumi creates it (the auto-name if none is set)."""
    tags: Literal["list", "map"] | None = None
    """How the type takes tags (the provider's default tags merged with the resource's), or untaggable."""
    merge: Merge | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Properties CloudFormation needs that Pulumi implies (a flow log's ``ResourceType``)."""
    split: Split | None = None
    nested_drops: Mapping[str, str] = field(default_factory=dict)
    """Dotted nested fields a shape drops, with the reason (listed in the coverage)."""
    reason: str = ""
    """Why the type has no CloudFormation resource (``type`` None)."""


@dataclass(frozen=True, slots=True)
class Tf:
    """The Terraform column of a row."""

    type: str
    renames: Mapping[str, str] = field(default_factory=dict)
    """Dotted Pulumi path (no list indices) -> Terraform attribute name, where not the plain snake_case."""
    maps: frozenset[str] = frozenset({"tags"})
    """Object-valued inputs that are Terraform maps; every other object is a (list) block."""


@dataclass(frozen=True, slots=True)
class Row:
    """One Pulumi type."""

    cfn: Cfn
    tf: Tf


WRITE_ONLY_VERSION = Drop("Pulumi's trigger for re-sending a write-only value; not part of the AWS resource")
PREFIX_EXPANDED = Drop("expanded into the physical name: the prefix plus the provider's random suffix")
DELETE_BEHAVIOUR = Drop("what the provider does on delete; CloudFormation says it with DeletionPolicy")
