"""The policy pack's policies: every rule of ``policy.RULES`` as a Pulumi ``StackValidationPolicy``.

There is one source of rules. The tests run ``policy.RULES`` over the offline engine's recorded inputs;
this module hands the same functions the graph that the Pulumi engine gives a policy pack (``AnalyzeStack``)
and reports what they find. Nothing here decides what is allowed: it only translates.

What the translation has to bridge, and why:

- Every rule is graph-wide (tags come from the provider, security groups are found through property
  dependencies), so each one is a stack policy; a resource policy sees one resource and no provider inputs.
- A stack policy sees each resource's *outputs* (its state, or the planned state in a preview), not its
  inputs. The shapes agree for the properties the rules read, with two exceptions handled in the rules
  themselves: write-only inputs (``*Wo``) never reach state, and provider defaults appear as values.
- In a preview, values the cloud has not computed yet are unknown. Reading one through pulumi-policy's proxy
  raises, which would turn the whole rule into an advisory "can't run during preview" note. So unknown map
  entries are dropped (the rules treat a missing input as "not set", as in the program) and unknown list
  items become ``None``. A rule that requires a value therefore reports an unknown one; the security flags
  the rules read come from plain config and are always known.
- The engine passes the default provider of a package like any provider; the rules' contract is that
  ``provider`` is ``None`` for it, so ``explicit-aws-provider`` can tell the two apart by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyProviderResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import PolicyResource as EnginePolicyResource
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from policy import RULES, Graph, PolicyResource, PolicyRule, Violation

PACK_NAME = "nexus-api"
UNKNOWN_SENTINELS: frozenset[str] = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
ENFORCEMENT: Mapping[str, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
}
_DROP = object()


def _is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def plain(value: Any) -> Any:
    """A property value as plain dicts and lists: proxies unwrapped, unknown entries dropped.

    Works on pulumi-policy's unknown-checking proxies (their items raise ``UnknownValueError``) and on plain
    values holding the engine's unknown sentinels alike. An unknown map entry is left out; an unknown list
    item becomes ``None`` so that positions keep their meaning.
    """
    result = _plain(value)
    return None if result is _DROP else result


def _plain(value: Any) -> Any:
    if _is_unknown(value):
        return _DROP
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                item = _plain(value[key])
            except UnknownValueError:
                continue
            if item is not _DROP:
                out[key] = item
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                item = _plain(value[index])
            except UnknownValueError:
                item = _DROP
            items.append(None if item is _DROP else item)
        return items
    return value


def is_default_provider(provider: PolicyProviderResource) -> bool:
    """Whether the engine made this provider (``default`` or ``default_<version>``), not the program."""
    return provider.name == "default" or provider.name.startswith("default_")


def rule_resources(resources: Iterable[EnginePolicyResource]) -> list[PolicyResource]:
    """The engine's view of a stack, as the rules' ``PolicyResource`` values."""
    converted = []
    for resource in resources:
        provider = resource.provider
        is_provider_type = resource.resource_type.startswith("pulumi:providers:")
        parent = resource.parent.urn if resource.parent is not None else resource.opts.parent
        converted.append(
            PolicyResource(
                urn=resource.urn,
                type=resource.resource_type,
                name=resource.name,
                inputs=plain(resource.props) or {},
                parent=parent,
                provider=None if provider is None or is_default_provider(provider) else provider.urn,
                # Only custom resources have a provider reference in state (providers are custom too);
                # components and the Stack have none.
                custom=provider is not None or is_provider_type,
                protect=bool(resource.opts.protect),
                id=None,  # physical ids are not part of a policy pack's view: the rules go by URNs
                dependencies=tuple(dep.urn for dep in resource.dependencies),
                property_dependencies={
                    prop: tuple(dep.urn for dep in deps)
                    for prop, deps in resource.property_dependencies.items()
                },
            )
        )
    return converted


def violations(rule: PolicyRule, args: StackValidationArgs) -> list[Violation]:
    """What one rule finds in the stack the engine describes."""
    return list(rule.check(Graph(rule_resources(args.resources))))


def stack_policy(rule: PolicyRule) -> StackValidationPolicy:
    """One rule as a stack policy: same name, description and enforcement; one report per violation."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for violation in violations(rule, args):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT[rule.enforcement],
    )


def build_policies(rules: Sequence[PolicyRule] = RULES) -> list[Policy]:
    """Every rule as a policy, in the order of ``RULES``."""
    return [stack_policy(rule) for rule in rules]
