"""The resource monitor of the offline engine: it records every registration the way the engine sees it.

Pulumi's stock ``MockMonitor`` hands mocks only (type, name, inputs, provider) and gets several things wrong
that a test harness must not: top-level URNs carry ``pulumi:pulumi:Stack$``, deep URNs keep only the last
parent type, duplicate URNs overwrite each other, ``additionalSecretOutputs`` is ignored and stack exports
never arrive. This monitor builds URNs as the engine does, rejects duplicates under a lock (registrations run
on several threads), records every resource option, asks the emulated cloud for computed outputs, marks
additional secret outputs secret, and keeps the stack's and components' registered outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2

from . import aws as _aws  # noqa: F401  (registers the AWS emulations)
from . import other_types as _other_types  # noqa: F401  (registers random, Kubernetes, providers)
from .cloud import Ctx, EmulationError, emulate, lookup
from .invokes import answer
from .records import STACK_TYPE, LogEntry, ResourceRecord
from .values import is_secret, is_unknown, unwrap_secrets, wrap_secret

STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"

_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_SEVERITIES = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


class DuplicateUrnError(EmulationError):
    """Two resources registered the same URN; the engine refuses the second one."""


class EmulatedCloud(Mocks):
    """The SDK's Mocks interface over the emulation tables: invokes (``call``) and resource creation.

    The monitor asks ``call`` for every invoke; resource registrations go through ``create`` with the full
    context (URN, region), which ``MockResourceArgs`` does not carry.
    """

    def __init__(self, region_of: Callable[[str, Mapping[str, Any]], str]) -> None:
        self._region_of = region_of

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        """Answer an invoke from the invoke table; an unknown token raises EmulationError."""
        plain = unwrap_secrets(dict(args.args))
        return dict(answer(args.token, plain, self._region_of(args.provider, plain))), None

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """What the cloud returns for a resource (the monitor calls ``create`` with the URN instead)."""
        raise NotImplementedError("the recording monitor creates resources through EmulatedCloud.create")

    def create(self, ctx: Ctx) -> tuple[str, dict[str, Any], bool]:
        """(id, computed outputs, whether the type is emulated) for a custom resource."""
        emulation = lookup(ctx.type)
        physical_id, computed = emulate(ctx, emulation)
        return physical_id, computed, emulation is not None


def from_wire(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A property map from the wire as plain values: secrets wrapped, unknowns as ``Unknown``."""
    plain = MessageToDict(struct, preserving_proto_field_name=True)
    decoded = _decode(plain)
    return decoded if isinstance(decoded, dict) else {}


def _decode(value: Any) -> Any:
    if value == rpc.UNKNOWN:
        return Unknown()  # type: ignore[no-untyped-call]
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET_SIG:
            return wrap_secret(_decode(value.get("value")))
        return {key: _decode(item) for key, item in value.items()}
    return value


def to_wire(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """Plain values (secrets wrapped, unknowns as ``Unknown``) as a wire property map."""
    struct = struct_pb2.Struct()
    struct.update(_encode(dict(values)))
    return struct


def _encode(value: Any) -> Any:
    if is_unknown(value):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _ref_urn(ref: str) -> str | None:
    """A provider reference is ``<urn>::<id>``; the URN part (None for an empty reference)."""
    return ref.rsplit("::", 1)[0] if ref else None


def _qualified_type(urn: str) -> str:
    return urn.split("::")[2]


class RecordingEngine:
    """The engine side of logging: keeps what the program logs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[LogEntry] = []

    def Log(self, request: Any) -> empty_pb2.Empty:  # noqa: N802  (gRPC method name)
        """Record one log message."""
        with self._lock:
            self.entries.append(
                LogEntry(_SEVERITIES.get(request.severity, "info"), request.message, request.urn or None)
            )
        return empty_pb2.Empty()


class RecordingMonitor(MockMonitor):
    """A resource monitor that records registrations faithfully and emulates the cloud."""

    def __init__(
        self,
        *,
        project: str,
        stack: str,
        default_region: str,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.cloud = EmulatedCloud(self._region_for)
        self.stack_outputs_by_name = dict(stack_outputs or {})
        """The backend's other stacks, by fully qualified name: what a StackReference reads."""
        super().__init__(self.cloud)
        self.project = project
        self.stack = stack
        self.default_region = default_region
        self._lock = threading.Lock()
        self.records: dict[str, ResourceRecord] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self.unemulated: set[str] = set()
        self._provider_regions: dict[str, str] = {}
        self._state_by_id: dict[str, dict[str, Any]] = {}

    # --- URNs -----------------------------------------------------------------------------------------
    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the full chain of parent types, without the root Stack's."""
        qualified = type_
        if parent and _qualified_type(parent) != STACK_TYPE:
            qualified = f"{_qualified_type(parent)}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def _region_for(self, provider_ref: str, inputs: Mapping[str, Any]) -> str:
        own = inputs.get("region")
        if isinstance(own, str) and own:
            return own  # pulumi-aws 7 lets a resource pick its own region
        return self._provider_regions.get(_ref_urn(provider_ref) or "", self.default_region)

    def _ctx(self, request: Any, urn: str, inputs: Mapping[str, Any]) -> Ctx:
        """What the emulated cloud is told of a registered or read resource (secrets unwrapped)."""
        return Ctx(
            type=request.type,
            name=request.name,
            urn=urn,
            inputs=unwrap_secrets(inputs),
            region=self._region_for(request.provider, inputs),
            peer=self._peer_state,
            created=self._created,
        )

    def _peer_state(self, physical_id: str) -> Mapping[str, Any] | None:
        with self._lock:
            state = self._state_by_id.get(physical_id)
        return unwrap_secrets(state) if state is not None else None

    def _created(self, type_: str) -> list[Mapping[str, Any]]:
        """States of the already created resources of a type (a registration answers only once created)."""
        with self._lock:
            states = [record.outputs for record in self.records.values() if record.type == type_]
        return [unwrap_secrets(dict(state)) for state in states]

    # --- registration -----------------------------------------------------------------------------------
    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  (gRPC method name)
        """Record one registration and answer with the emulated state."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        if request.transforms:
            raise EmulationError(
                f"{urn}: resource transforms are not run by the offline engine, so the recorded inputs would "
                "not be what the engine sends; set the values directly instead"
            )
        with self._lock:
            if urn in self.records or urn in self.resources:
                raise DuplicateUrnError(
                    f"Duplicate resource URN '{urn}'; try giving it a unique name (the engine refuses it)"
                )
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, "", {})  # reserve it

        inputs = from_wire(request.object)
        physical_id: str | None = None
        state: dict[str, Any] = {}
        emulated = request.custom or request.remote
        if emulated:
            physical_id, computed, known = self.cloud.create(self._ctx(request, urn, inputs))
            if not known:
                with self._lock:
                    self.unemulated.add(request.type)
            state = {**inputs, **computed}
            for key in request.additionalSecretOutputs:
                if key in state and not is_secret(state[key]):
                    state[key] = wrap_secret(state[key])
            if request.remote:
                physical_id = None

        record = ResourceRecord(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            inputs=inputs,
            outputs=state,
            id=physical_id,
            protect=bool(request.protect),
            provider=_ref_urn(request.provider),
            providers={pkg: _ref_urn(ref) or "" for pkg, ref in sorted(request.providers.items())},
            dependencies=tuple(sorted(request.dependencies)),
            property_dependencies={
                key: tuple(sorted(deps.urns)) for key, deps in sorted(request.propertyDependencies.items())
            },
            ignore_changes=tuple(request.ignoreChanges),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            replace_on_changes=tuple(request.replaceOnChanges),
            aliases=tuple(MessageToDict(alias) for alias in request.aliases)
            + tuple({"urn": alias} for alias in request.aliasURNs),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
            custom_timeouts=(
                {k: v for k, v in MessageToDict(request.customTimeouts).items() if v}
                if request.HasField("customTimeouts")
                else None
            ),
            deleted_with=request.deletedWith or None,
            import_id=request.importId or None,
            remote=bool(request.remote),
        )
        if record.is_provider and isinstance(unwrap_secrets(inputs.get("region")), str):
            self._provider_regions[urn] = unwrap_secrets(inputs["region"])
        with self._lock:
            self.records[urn] = record
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, physical_id or "", state)
            if physical_id:
                self._state_by_id[physical_id] = state
        return resource_pb2.RegisterResourceResponse(urn=urn, id=physical_id or "", object=to_wire(state))

    def ReadResource(self, request: Any) -> Any:  # noqa: N802  (gRPC method name)
        """A ``Resource.get``: answer with the given state plus what the cloud computes."""
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = from_wire(request.properties)
        if request.type == STACK_REFERENCE_TYPE:
            state = self._read_stack_reference(urn, inputs)
            with self._lock:
                self.resources[urn] = MockMonitor.ResourceRegistration(urn, request.id, state)
            return resource_pb2.ReadResourceResponse(urn=urn, properties=to_wire(state))
        _, computed, _ = self.cloud.create(self._ctx(request, urn, inputs))
        state = {**inputs, **computed}
        with self._lock:
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, request.id, state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=to_wire(state))

    def _read_stack_reference(self, urn: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The built-in provider's read of a StackReference (pulumi/pulumi pkg/resource/deploy/builtins.go
        ``readStackReference``): the backend's outputs of the named stack, ``{name, outputs,
        secretOutputNames}``; a stack the backend does not have fails the read, and with it the update."""
        name = str(inputs.get("name"))
        if name not in self.stack_outputs_by_name:
            known = ", ".join(sorted(self.stack_outputs_by_name)) or "none"
            raise EmulationError(f"{urn}: the backend has no stack {name!r} (stacks it has: {known})")
        outputs = dict(self.stack_outputs_by_name[name])
        secret_names = sorted(key for key, value in outputs.items() if is_secret(value))
        return {"name": name, "outputs": outputs, "secretOutputNames": secret_names}

    def RegisterStackTransform(self, request: Any) -> empty_pb2.Empty:  # noqa: N802  (gRPC method name)
        """Refuse: the stock mock records stack transforms but never runs them, so a preview would lie."""
        raise EmulationError(
            "stack transforms are not run by the offline engine (the stock mock only records them); the "
            "program must not rely on them: pass the values or options to the resources directly"
        )

    def RegisterResourceOutputs(self, request: Any) -> empty_pb2.Empty:  # noqa: N802  (gRPC method name)
        """Keep the outputs a component (or the Stack: its exports) registered."""
        outputs = from_wire(request.outputs)
        with self._lock:
            if request.urn == self.stack_urn:
                self.stack_outputs = outputs
            else:
                self.component_outputs[request.urn] = outputs
        return empty_pb2.Empty()

    def Invoke(self, request: Any) -> Any:  # noqa: N802  (gRPC method name)
        """Answer a provider function from the invoke table; an unknown token fails loudly."""
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)  # type: ignore[no-untyped-call]
        call = MockCallArgs(token=request.tok, args=from_wire(request.args), provider=request.provider)
        result, _ = self.cloud.call(call)
        return resource_pb2.ResourceInvokeResponse(**{"return": to_wire(result)})

    def Call(self, request: Any) -> Any:  # noqa: N802  (gRPC method name)
        """Resource methods (``Call``) are provider code the offline engine does not have: fail loudly."""
        raise EmulationError(
            f"the offline engine does not emulate the resource method {request.tok!r}; compute the value in "
            "the program from the resource's outputs instead"
        )

    def recorded(self) -> list[ResourceRecord]:
        """Every record, sorted by URN, components carrying the outputs they registered."""
        from dataclasses import replace

        return [
            replace(record, component_outputs=self.component_outputs.get(urn, {}))
            for urn, record in sorted(self.records.items())
        ]
