"""What the offline engine records: one record per registered resource, and the result of a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceRecord:
    """One resource as the engine saw its registration: inputs exactly as sent, and every option."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    """URN of the parent, or None for the root Stack."""
    inputs: Mapping[str, Any]
    """Inputs as sent to the provider (camelCase); secrets wrapped, unknowns kept as ``Unknown``."""
    outputs: Mapping[str, Any]
    """State the emulated provider returned (inputs plus what the cloud computes); secrets wrapped."""
    id: str | None
    protect: bool
    provider: str | None
    """URN of the explicit provider of a custom resource (None: the default provider)."""
    providers: Mapping[str, str]
    """Package -> provider URN handed to a component's children."""
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    ignore_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    aliases: tuple[Mapping[str, Any], ...]
    """Each alias as the SDK sent it: ``{"urn": ...}`` or a spec (name, type, parentUrn, noParent, ...)."""
    delete_before_replace: bool | None
    """None when the program did not say (the provider's default applies)."""
    retain_on_delete: bool | None
    custom_timeouts: Mapping[str, str] | None
    deleted_with: str | None
    import_id: str | None
    remote: bool
    component_outputs: Mapping[str, Any] = field(default_factory=dict)
    """What a component passed to ``register_outputs`` (empty for custom resources)."""

    @property
    def is_provider(self) -> bool:
        """Whether this is an explicit provider resource (``pulumi:providers:<pkg>``)."""
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    @property
    def is_component(self) -> bool:
        """A component: neither a custom resource nor the root Stack."""
        return not self.custom and self.type != STACK_TYPE

    @property
    def package(self) -> str:
        """The package of the type token (``aws``, ``kubernetes``, ``random``, or the component's)."""
        if self.is_provider:
            return self.type[len(PROVIDER_TYPE_PREFIX) :]
        return self.type.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A message the program logged through ``pulumi.log`` (or the SDK on its behalf)."""

    severity: str
    message: str
    urn: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgramRun:
    """The result of running a program under the offline engine."""

    project: str
    stack: str
    resources: tuple[ResourceRecord, ...]
    """Every registered resource except the root Stack, sorted by URN."""
    stack_urn: str | None
    outputs: Mapping[str, Any]
    """Stack exports, secrets wrapped."""
    logs: tuple[LogEntry, ...]
    error: str | None
    """The program's ``pulumi.RunError`` message (the engine prints it without a traceback), or None."""
    unemulated_types: frozenset[str]
    """Custom resource types the emulated cloud does not know: their outputs are only their inputs."""

    @property
    def ok(self) -> bool:
        """Whether the program ran to completion."""
        return self.error is None
