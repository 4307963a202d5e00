"""The emulated cloud: what providers compute when a resource is created, answered deterministically.

Each resource type maps to an ``Emulation``: how its ``id`` looks, which properties the provider auto-names
when the program leaves them out, and which other outputs the cloud computes (ARNs, endpoints, ports,
certificate data...). Every generated value derives from a hash of the resource's URN, so two runs of the
same program give byte-identical results and a rename shows up as a new name, as it would in AWS.

Extending: add an entry to the table of your provider's module (``aws/<service>.py``, ``other_types.py``) with
``register(Emulation(...))``; a type without an entry echoes its inputs and is listed in
``ProgramRun.unemulated_types`` (the whole-stack test fails on it, so that nothing silently becomes None).
"""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

ACCOUNT_ID: Final = "123456789012"
PARTITION: Final = "aws"
DNS_SUFFIX: Final = "amazonaws.com"
DEFAULT_REGION: Final = "us-east-1"


class EmulationError(Exception):
    """The emulated provider refused a resource as the real one would (e.g. an auto-name too long)."""


@dataclass(frozen=True, slots=True)
class AutoName:
    """A property the provider fills with ``<logical name><separator><random>`` when the program omits it."""

    prop: str
    """Property (camelCase) that receives the generated name."""
    maxlen: int = 255
    lower: bool = False
    separator: str = "-"
    randlen: int = 7
    prefix_prop: str | None = None
    """A ``*Prefix`` input that, when given, replaces the logical name as the prefix (no separator)."""
    output_prefix: str = ""
    """Prepended after generation (KMS aliases become ``alias/<name>-<random>``)."""


@dataclass(slots=True)
class Ctx:
    """Everything an emulation may read while computing a resource's outputs."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    """Plain inputs (secrets unwrapped)."""
    region: str
    state: dict[str, Any] = field(default_factory=dict)
    """Outputs computed so far (auto-names first); emulations read and add to it."""
    account: str = ACCOUNT_ID
    partition: str = PARTITION
    peer: Callable[[str], Mapping[str, Any] | None] | None = None
    """The state of another resource of this run by its physical id (what the cloud would look up), if any."""
    created: Callable[[str], list[Mapping[str, Any]]] = field(default=lambda _type: [])
    """States (secrets unwrapped) of the resources of a type the cloud has already created in this run: what
    AWS would resolve a reference against (e.g. a read replica's source). Empty outside a run."""

    def get(self, key: str, default: Any = None) -> Any:
        """A computed output if present, else the input, else ``default``."""
        if key in self.state:
            return self.state[key]
        return self.inputs.get(key, default)

    def find(self, physical_id: str) -> Mapping[str, Any] | None:
        """The state of the resource with that physical id, created earlier in this run (None if unknown)."""
        return self.peer(physical_id) if self.peer is not None else None

    def digest(self, salt: str = "") -> bytes:
        """Deterministic bytes for this resource (and a salt)."""
        return hashlib.sha256(f"{self.urn}|{salt}".encode()).digest()

    def hex(self, length: int, salt: str = "") -> str:
        """``length`` lowercase hex characters."""
        return hashlib.sha256(f"{self.urn}|{salt}".encode()).hexdigest()[:length]

    def chars(
        self, length: int, alphabet: str = string.ascii_lowercase + string.digits, salt: str = ""
    ) -> str:
        """``length`` characters from ``alphabet``."""
        out: list[str] = []
        counter = 0
        while len(out) < length:
            for byte in self.digest(f"{salt}|{counter}"):
                out.append(alphabet[byte % len(alphabet)])
                if len(out) == length:
                    break
            counter += 1
        return "".join(out)

    def digits(self, length: int, salt: str = "") -> str:
        """``length`` decimal digits."""
        return self.chars(length, string.digits, salt)

    def uuid(self, salt: str = "") -> str:
        """A UUID-shaped identifier."""
        h = self.hex(32, salt)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def b64(self, text: str) -> str:
        """Base64 of ``text``."""
        return base64.b64encode(text.encode()).decode()

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


Compute = Callable[[Ctx], Mapping[str, Any]]
Check = Callable[[Ctx], str | None]
"""Returns the provider's refusal (e.g. an invalid identifier), or None."""


@dataclass(frozen=True, slots=True)
class Emulation:
    """How the emulated provider treats one resource type."""

    type: str
    id: Callable[[Ctx], str] | None = None
    """The physical id (default: ``<type's short name>-<17 hex>``)."""
    autonames: tuple[AutoName, ...] = ()
    compute: Compute | None = None
    """Further outputs the cloud computes (merged over the inputs)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Outputs the provider fills in when the input is absent (e.g. a port or a default description)."""
    checks: tuple[Check, ...] = ()
    """Validations the provider runs on the final values (given or auto-named) before creating anything."""


_TABLE: dict[str, Emulation] = {}
_PACKAGE_FALLBACKS: dict[str, Emulation] = {}


def register(*emulations: Emulation) -> None:
    """Add (or replace) the emulation of resource types."""
    for emulation in emulations:
        _TABLE[emulation.type] = emulation


def register_package_fallback(package: str, emulation: Emulation) -> None:
    """Emulation used for every type of a package without its own entry (e.g. Kubernetes objects)."""
    _PACKAGE_FALLBACKS[package] = emulation


def lookup(type_: str) -> Emulation | None:
    """The emulation of a type, its package's fallback, or None."""
    found = _TABLE.get(type_)
    if found is not None:
        return found
    return _PACKAGE_FALLBACKS.get(type_.split(":", 1)[0])


def known_types() -> frozenset[str]:
    """Every type with an explicit entry."""
    return frozenset(_TABLE)


def auto_name(ctx: Ctx, rule: AutoName) -> str:
    """The name the provider would generate; raises like the provider when it cannot fit ``maxlen``."""
    prefix_given = rule.prefix_prop is not None and ctx.inputs.get(rule.prefix_prop)
    prefix = str(prefix_given) if prefix_given else ctx.name + rule.separator
    randlen = 26 if prefix_given else rule.randlen  # terraform's prefix names carry a 26-digit timestamp id
    if rule.lower:
        prefix = prefix.lower()
    if len(prefix) + randlen > rule.maxlen:
        # pulumi/pulumi sdk/go/common/resource/resource_id.go NewUniqueName, which the bridge's auto-namer
        # (tfbridge.AutoName / AutoNameTransform with a maximum length) calls: its message, verbatim.
        raise EmulationError(
            f"{ctx.urn}: {rule.prop}: name '{prefix}' plus {randlen} random chars is longer than maximum "
            f"length {rule.maxlen}"
        )
    suffix = ctx.digits(randlen, salt=rule.prop) if prefix_given else ctx.hex(randlen, salt=rule.prop)
    generated = prefix + suffix
    return generated if generated.startswith(rule.output_prefix) else rule.output_prefix + generated


def default_id(ctx: Ctx) -> str:
    """``<short type name>-<17 hex>``, the shape of most EC2 ids."""
    short = ctx.type.rsplit(":", 1)[-1].lower()
    return f"{short}-{ctx.hex(17, 'id')}"


def emulate(ctx: Ctx, emulation: Emulation | None) -> tuple[str, dict[str, Any]]:
    """Run an emulation: auto-names, defaults, computed outputs and the id. Returns (id, computed outputs)."""
    if emulation is None:
        return default_id(ctx), {}
    for rule in emulation.autonames:
        if ctx.inputs.get(rule.prop) in (None, ""):
            ctx.state[rule.prop] = auto_name(ctx, rule)
    for key, value in emulation.defaults.items():
        if ctx.inputs.get(key) is None and key not in ctx.state:
            ctx.state[key] = value
    for check in emulation.checks:
        refusal = check(ctx)
        if refusal is not None:
            raise EmulationError(f"{ctx.urn}: {refusal}")
    if emulation.compute is not None:
        ctx.state.update(emulation.compute(ctx))
    physical_id = emulation.id(ctx) if emulation.id is not None else default_id(ctx)
    return physical_id, ctx.state
