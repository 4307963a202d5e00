"""A stack as the Pulumi engine hands it to a policy pack (``AnalyzeStack``), rebuilt from an offline run.

The engine gives a stack policy every resource of the stack (the Stack, providers, components, custom
resources) with its *outputs*, its options, its provider (the default one of the package when the program
named none), its parent, and its dependencies as objects. Two moments matter:

- ``"state"``: after ``pulumi up`` (or a preview of an unchanged stack). Props are what the cloud returned,
  which the offline engine emulates, less the write-only inputs (``*Wo``) that AWS never returns.
- ``"preview"``: the first preview of a new stack. Nothing exists yet, so every value the cloud computes is
  unknown: a resource's own computed outputs, and any input made from another resource's computed value
  (ids, ARNs, endpoints, auto-names, a policy document embedding an ARN). Props are the inputs with those
  values replaced by the engine's unknown sentinel, plus the resource's computed keys as unknowns.

Props are wrapped in pulumi-policy's unknown-checking proxy, exactly as its analyzer server does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from typing import Any, Literal

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from offline import ResourceRecord
from offline.values import unwrap_secrets
from tests.support.harness import StackRun, run_stack

Moment = Literal["state", "preview"]
UNKNOWN = UNKNOWN_STRING_VALUE
_PROVIDER_PREFIX = "pulumi:providers:"
_MIN_COMPUTED_LEN = 8  # shorter generated values (ports, "16.4") would match unrelated config by chance


def _leaves(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, str) else []


def _without_write_only(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if not key.endswith("Wo")}


def _computed_values(records: tuple[ResourceRecord, ...]) -> re.Pattern[str] | None:
    """A pattern matching any value the cloud computes (ids and outputs that were not inputs)."""
    values: set[str] = set()
    for record in records:
        if not record.custom:
            continue
        inputs = unwrap_secrets(dict(record.inputs))
        outputs = unwrap_secrets(dict(record.outputs))
        computed = [outputs[key] for key in outputs if key not in inputs]
        values.update(leaf for leaf in _leaves([record.id, *computed]) if len(leaf) >= _MIN_COMPUTED_LEN)
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def _unknown_where_computed(value: Any, pattern: re.Pattern[str] | None) -> Any:
    if isinstance(value, Mapping):
        return {key: _unknown_where_computed(item, pattern) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unknown_where_computed(item, pattern) for item in value]
    if isinstance(value, str) and pattern is not None and pattern.search(value):
        return UNKNOWN
    return value


def _props(record: ResourceRecord, moment: Moment, pattern: re.Pattern[str] | None) -> dict[str, Any]:
    inputs = unwrap_secrets(dict(record.inputs))
    if record.is_provider or not record.custom:
        return inputs  # a provider's state is its configuration; components have no state of their own
    if moment == "state":
        return _without_write_only(unwrap_secrets(dict(record.outputs)))
    planned = _unknown_where_computed(inputs, pattern)
    for key in record.outputs:
        planned.setdefault(key, UNKNOWN)
    return _without_write_only(planned)


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=record.protect,
        ignore_changes=list(record.ignore_changes),
        delete_before_replace=record.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(record.additional_secret_outputs),
        parent=record.parent,
    )


def default_provider_urn(run: StackRun, package: str) -> str:
    """The URN the engine gives the default provider of a package (``default_<version>``)."""
    version = metadata.version(f"pulumi_{package}").replace(".", "_")
    return f"urn:pulumi:{run.stack}::{run.project}::{_PROVIDER_PREFIX}{package}::default_{version}"


def engine_resources(run: StackRun, moment: Moment) -> list[PolicyResource]:
    """Every resource of the run, as ``AnalyzeStack`` would pass it to the pack."""
    records = run.raw.resources
    pattern = _computed_values(records) if moment == "preview" else None
    by_urn: dict[str, PolicyResource] = {}
    parents: dict[str, str | None] = {}
    providers: dict[str, PolicyProviderResource] = {}

    stack_urn = run.raw.stack_urn
    assert stack_urn is not None
    by_urn[stack_urn] = PolicyResource(
        "pulumi:pulumi:Stack",
        {},
        stack_urn,
        stack_urn.rsplit("::", 1)[1],
        _stack_options(),
        None,
        None,
        [],
        {},
    )
    parents[stack_urn] = None

    def provider_for(record: ResourceRecord) -> PolicyProviderResource | None:
        if not record.custom or record.is_provider:
            return None
        urn = record.provider or default_provider_urn(run, record.package)
        if urn not in providers:
            explicit = next((r for r in records if r.urn == urn), None)
            props = unwrap_secrets(dict(explicit.inputs)) if explicit is not None else {}
            providers[urn] = PolicyProviderResource(
                urn.split("::")[2].split("$")[-1], props, urn, urn.rsplit("::", 1)[1]
            )
            if explicit is None:  # the engine registers a default provider as a resource of the stack
                by_urn[urn] = PolicyResource(
                    providers[urn].resource_type, {}, urn, providers[urn].name, _stack_options(), None,
                    None, [], {},
                )  # fmt: skip
                parents[urn] = stack_urn
        return providers[urn]

    for record in records:
        resource = PolicyResource(
            record.type,
            unknown_checking_proxy(_props(record, moment, pattern)),
            record.urn,
            record.name,
            _options(record),
            provider_for(record),
            None,
            [],
            {},
        )
        by_urn[record.urn] = resource
        parents[record.urn] = record.parent
    for record in records:
        resource = by_urn[record.urn]
        resource.dependencies = [by_urn[urn] for urn in record.dependencies if urn in by_urn]
        resource.property_dependencies = {
            prop: [by_urn[urn] for urn in urns if urn in by_urn]
            for prop, urns in record.property_dependencies.items()
        }
    for urn, parent in parents.items():
        by_urn[urn].parent = by_urn.get(parent) if parent else None
    return sorted(by_urn.values(), key=lambda r: r.urn)


def _stack_options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


@lru_cache(maxsize=8)
def _cached(stack: str, moment: Moment) -> tuple[PolicyResource, ...]:
    return tuple(engine_resources(run_stack(stack), moment))


def stack_args(stack: str, moment: Moment) -> StackValidationArgs:
    """The ``StackValidationArgs`` of a stack file at a moment (fresh list: tests may edit it)."""
    return StackValidationArgs(list(_cached(stack, moment)))


def analyze_stack_request(
    run: StackRun, moment: Moment, edit: dict[str, dict[str, Any]] | None = None
) -> Any:
    """The ``AnalyzeStackRequest`` the engine would send over gRPC; ``edit`` maps a URN to props to change."""
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    def struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        message.update(dict(props))
        return message

    messages = []
    for resource in engine_resources(run, moment):
        props = plain_target(resource.props)
        props.update((edit or {}).get(resource.urn, {}))
        provider = resource.provider
        messages.append(
            analyzer_pb2.AnalyzerResource(
                type=resource.resource_type,
                properties=struct(props),
                urn=resource.urn,
                name=resource.name,
                options=analyzer_pb2.AnalyzerResourceOptions(
                    protect=resource.opts.protect, parent=resource.opts.parent or ""
                ),
                provider=(
                    analyzer_pb2.AnalyzerProviderResource(
                        type=provider.resource_type,
                        properties=struct(provider.props),
                        urn=provider.urn,
                        name=provider.name,
                    )
                    if provider is not None
                    else None
                ),
                parent=resource.parent.urn if resource.parent is not None else "",
                dependencies=[dep.urn for dep in resource.dependencies],
                propertyDependencies={
                    prop: analyzer_pb2.AnalyzerPropertyDependencies(urns=[dep.urn for dep in deps])
                    for prop, deps in resource.property_dependencies.items()
                },
            )
        )
    return analyzer_pb2.AnalyzeStackRequest(resources=messages)


def plain_target(props: Any) -> dict[str, Any]:
    """The props behind pulumi-policy's proxy, unknown sentinels kept (what the engine would marshal)."""
    target = props["__target"] if not isinstance(props, dict) else props
    return {key: _unproxied(value) for key, value in dict(target).items()}


def _unproxied(value: Any) -> Any:
    if isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str | bytes)):
        try:
            target = value["__target"]
        except (KeyError, TypeError, IndexError):
            target = value
        if isinstance(target, Mapping):
            return {key: _unproxied(item) for key, item in target.items()}
        return [_unproxied(item) for item in target]
    return value
