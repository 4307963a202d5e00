"""The types every rule shares (``PolicyResource``, ``Graph``, ``Violation``, ``PolicyRule``) and the helpers
several domains use (tags as AWS merges them, prod detection, loose number and list reading).

A rule is a plain function from the whole graph (``Graph``: every resource with its type, name, URN, plain
inputs, parent, provider and dependencies) to violations. The tests run every rule over every stack file
(tests/policy/test_policy.py); a Pulumi policy pack wraps the same functions in ``StackValidationPolicy``
objects, building ``PolicyResource`` values from ``StackValidationArgs.resources`` (URNs, props, parent,
provider and property dependencies are all there), so there is one source of rules.

Adding a rule: write ``def _my_rule(graph: Graph) -> Iterator[Violation]`` in the domain module it belongs to
(policy/network.py, data.py, compute.py, workloads.py, delivery.py; baseline.py for rules over every
resource) and add a ``PolicyRule`` to that module's list, which ``policy.RULES`` concatenates. Decide things
from URNs and property dependencies rather than physical ids: during a real preview ids are unknown, while
URNs and dependencies are always known.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"

# Type tokens that rules of more than one domain module read (each defined here once).
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"

Enforcement = Literal["mandatory", "advisory"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyResource:
    """One resource as the rules see it (plain values: secrets already unwrapped)."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    parent: str | None = None
    """Parent URN (the Stack's URN for top-level resources)."""
    provider: str | None = None
    """URN of the explicit provider of a custom resource; None means the default provider."""
    custom: bool = True
    protect: bool = False
    id: str | None = None
    """Physical id when known (offline runs); unknown in a real preview, so rules prefer URNs."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_provider(self) -> bool:
        """An explicit provider resource."""
        return self.type.startswith(PROVIDER_PREFIX)


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule broken by one resource."""

    rule: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.urn}: {self.message}"


class Graph:
    """The resources of one stack with the lookups rules need."""

    def __init__(self, resources: Iterable[PolicyResource]) -> None:
        self.resources: tuple[PolicyResource, ...] = tuple(sorted(resources, key=lambda r: r.urn))
        self._by_urn = {resource.urn: resource for resource in self.resources}
        self._by_id = {
            resource.id: resource for resource in self.resources if resource.custom and resource.id
        }

    def get(self, urn: str | None) -> PolicyResource | None:
        """The resource with this URN, if recorded."""
        return self._by_urn.get(urn) if urn else None

    def by_type(self, *types: str) -> list[PolicyResource]:
        """Resources of any of these types."""
        return [resource for resource in self.resources if resource.type in types]

    def referenced(self, resource: PolicyResource, prop: str, value: Any = None) -> list[PolicyResource]:
        """Resources an input refers to: by its property dependencies, else by matching physical ids."""
        urns = resource.property_dependencies.get(prop, ())
        found = [self._by_urn[urn] for urn in urns if urn in self._by_urn]
        if found:
            return found
        values = (
            value if isinstance(value, list) else [value if value is not None else resource.inputs.get(prop)]
        )
        return [self._by_id[item] for item in values if isinstance(item, str) and item in self._by_id]


Check = Callable[[Graph], Iterator[Violation]]


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """A named rule with its description (the policy pack shows both) and its check."""

    name: str
    description: str
    check: Check
    enforcement: Enforcement = "mandatory"


def _aws_class(type_token: str) -> Any:
    """The pulumi_aws class of a type token (``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.Vpc``), or None."""
    try:
        _, module_path, class_name = type_token.split(":")
    except ValueError:
        return None
    module = module_path.split("/")[0]
    candidates = ["pulumi_aws"] if module == "index" else [f"pulumi_aws.{module}", f"pulumi_aws.{module}_"]
    for candidate in candidates:
        try:
            found = getattr(importlib.import_module(candidate), class_name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


@cache
def is_taggable(type_token: str) -> bool:
    """Whether an AWS resource type takes ``tags`` (read from the pulumi_aws class, cached)."""
    cls = _aws_class(type_token)
    if cls is None:
        return False
    init = getattr(cls, "_internal_init", cls.__init__)
    return "tags" in inspect.signature(init).parameters


def json_object(value: Any) -> dict[str, Any]:
    # Provider inputs arrive JSON-encoded (the engine passes provider config as strings).
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def effective_tags(graph: Graph, resource: PolicyResource) -> dict[str, Any]:
    """The provider's ``defaultTags`` merged with the resource's own ``tags`` (own tags win, as in AWS)."""
    provider = graph.get(resource.provider)
    defaults = json_object(json_object(provider.inputs.get("defaultTags")).get("tags")) if provider else {}
    return {**defaults, **json_object(resource.inputs.get("tags"))}


def is_prod(graph: Graph, resource: PolicyResource) -> bool:
    """Whether a resource belongs to a prod stack (its effective Environment tag)."""
    return effective_tags(graph, resource).get("Environment") == "prod"


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def whole_number(value: Any) -> int | None:
    """An integer setting as the rules compare it, or None when it is not a whole number.

    A policy pack receives numbers as floats (the engine passes properties as protobuf ``Struct`` values,
    whose only number type is a double), so ``10001.0`` is the integer 10001 here; ``True`` is not a number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def items_of(value: Any) -> list[Any]:
    """A JSON value as a list: None is empty, a scalar is one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def check_rule(rule: PolicyRule, resources: Iterable[PolicyResource]) -> list[Violation]:
    """Violations of one rule."""
    return list(rule.check(Graph(resources)))


def from_records(records: Iterable[Any]) -> list[PolicyResource]:
    """PolicyResources from the offline engine's recorded resources (``offline.RecordedResource``)."""
    return [
        PolicyResource(
            urn=resource.urn,
            type=resource.type,
            name=resource.name,
            inputs=resource.inputs,
            parent=resource.parent,
            provider=resource.provider,
            custom=resource.record.custom,
            protect=resource.protect,
            id=resource.id,
            dependencies=tuple(resource.dependencies),
            property_dependencies=dict(resource.record.property_dependencies),
        )
        for resource in records
    ]


# Creation order. Source: pulumi's Python SDK, pulumi/runtime/resource.py ``prepare_resource`` (3.272): before
# a resource is registered (and so created) the SDK awaits (1) its explicit ``depends_on``, a component
# standing for all its children (rpc._expand_dependencies), (2) every resource an input Output came from, (3)
# its parent's URN, which a component gets only once its own ``depends_on`` and inputs are done, and (4) its
# explicit provider (``_create_provider_ref`` awaits the provider's URN and id). The engine records (1) and
# (2) as the resource's ``dependencies``; (3) and (4) are its ``parent`` and ``provider``. So a resource waits
# for everything reachable through those three edges, and for nothing else: a plain string input (a cluster
# name typed in config) orders nothing. Pulumi's docs say the same of dependsOn on components
# (https://www.pulumi.com/docs/iac/concepts/resources/options/dependson/).


def waits_for(graph: Graph, resource: PolicyResource) -> set[str]:
    """URNs of everything the engine creates before this resource: dependencies, parent and provider, closed
    transitively (see the comment above for the SDK source)."""
    seen: set[str] = set()
    todo = [resource]
    while todo:
        current = todo.pop()
        for urn in (*current.dependencies, current.parent, current.provider):
            if urn and urn not in seen:
                seen.add(urn)
                found = graph.get(urn)
                if found is not None:
                    todo.append(found)
    return seen
