"""Plain-value helpers over what the engine sees: secrets, unknowns and numbers.

Values recorded from the wire are plain Python (dicts, lists, str, float, bool). A secret is a dict holding
the SDK's signature key; an unknown (a value the engine would compute later) is ``pulumi.output.Unknown``.
Numbers arrive as floats (protobuf ``Value`` has one number type), so integral floats are turned back into
ints for display and for the JSON document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pulumi.output import Unknown
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret, wrap_rpc_secret

SECRET_MASK: Final = "[secret]"  # noqa: S105  (the mask, not a password)
UNKNOWN_MASK: Final = "[unknown]"

__all__ = [
    "SECRET_MASK",
    "UNKNOWN_MASK",
    "is_secret",
    "is_unknown",
    "iter_leaves",
    "mask_secrets",
    "normalize_numbers",
    "secret_paths",
    "unwrap_secrets",
    "wrap_secret",
]


def is_secret(value: Any) -> bool:
    """Whether ``value`` is a wire-format secret."""
    return bool(is_rpc_secret(value))


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is a value the engine would only know after the update."""
    return isinstance(value, Unknown)


def wrap_secret(value: Any) -> Any:
    """``value`` as a wire-format secret (unchanged if it already is one)."""
    return wrap_rpc_secret(value)


def unwrap_secrets(value: Any) -> Any:
    """A deep copy of ``value`` with every secret replaced by its plain value."""
    if is_secret(value):
        return unwrap_secrets(unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def mask_secrets(value: Any, mask: str = SECRET_MASK) -> Any:
    """A deep copy of ``value`` with every secret replaced by ``mask`` and every unknown by a marker."""
    if is_secret(value):
        return mask
    if is_unknown(value):
        return UNKNOWN_MASK
    if isinstance(value, dict):
        return {key: mask_secrets(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item, mask) for item in value]
    return value


def secret_paths(value: Any, prefix: str = "") -> frozenset[str]:
    """Dotted paths (list items by index) of every secret inside ``value``; ``""`` if it is one itself."""
    found: set[str] = set()
    if is_secret(value):
        found.add(prefix)
        value = unwrap_rpc_secret(value)
    if isinstance(value, dict):
        for key, item in value.items():
            found |= secret_paths(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found |= secret_paths(item, f"{prefix}.{index}" if prefix else str(index))
    return frozenset(found)


def normalize_numbers(value: Any) -> Any:
    """A deep copy of ``value`` with integral floats turned back into ints (``100.0`` -> ``100``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: normalize_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(item) for item in value]
    return value


def iter_leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar (or unknown) inside ``value`` with its dotted path; secrets are looked into."""
    if is_secret(value):
        yield from iter_leaves(unwrap_rpc_secret(value), prefix)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_leaves(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        yield prefix, value
