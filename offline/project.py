"""Read a Pulumi project file and a stack file into what the engine hands the language host.

The engine passes config as ``namespace:key`` -> string, structured values JSON-encoded. A key without a
namespace belongs to the project. ``secure:`` values need the CLI's secrets provider to decrypt; offline they
become a placeholder and the key is reported secret, so the program still sees a secret value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SECURE_PLACEHOLDER = "offline-placeholder-secret"


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 core-schema scalars, as the CLI (Go yaml.v3) reads stack files: ``yes``/``on``/``12:30`` stay
    strings and ``010`` is ten, where PyYAML's YAML 1.1 would make them true, true, 750 and 8."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith((":bool", ":int", ":float"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    _Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text[2:] if base != 10 else text, base)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


@dataclass(frozen=True, slots=True)
class ProjectFile:
    """What the engine reads from ``Pulumi.yaml``."""

    directory: Path
    name: str
    main: str
    defaults: Mapping[str, str]
    """Project config defaults (``config: {key: {default: ...}}``) as engine strings."""


@dataclass(frozen=True, slots=True)
class StackFile:
    """What the engine reads from ``Pulumi.<stack>.yaml``."""

    path: Path
    stack: str
    config: Mapping[str, str]
    secret_keys: tuple[str, ...]


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def read_project(directory: str | Path) -> ProjectFile:
    """Parse ``<directory>/Pulumi.yaml``."""
    root = Path(directory).resolve()
    document = yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}
    name = str(document["name"])
    defaults: dict[str, str] = {}
    for key, spec in (document.get("config") or {}).items():
        if isinstance(spec, dict):
            if "default" in spec:
                defaults[_full_key(name, key)] = _encode(spec["default"])
        elif spec is not None:
            defaults[_full_key(name, key)] = _encode(spec)
    return ProjectFile(directory=root, name=name, main=str(document.get("main") or "."), defaults=defaults)


def stack_name_from_path(path: str | Path) -> str:
    """``Pulumi.prod.yaml`` -> ``prod``."""
    name = Path(path).name
    if not (name.startswith("Pulumi.") and name.endswith(".yaml")) or name == "Pulumi.yaml":
        raise ValueError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    return name[len("Pulumi.") : -len(".yaml")]


def read_stack(path: str | Path, project: ProjectFile, *, stack: str | None = None) -> StackFile:
    """Parse a stack file; project defaults fill keys it does not set."""
    file = Path(path)
    document = yaml.load(file.read_text(), Loader=_Yaml12Loader) or {}  # noqa: S506 - a SafeLoader
    config: dict[str, str] = dict(project.defaults)
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = _full_key(project.name, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = SECURE_PLACEHOLDER
            secret_keys.append(full_key)
        else:
            config[full_key] = _encode(value)
    return StackFile(
        path=file,
        stack=stack or stack_name_from_path(file),
        config=config,
        secret_keys=tuple(sorted(secret_keys)),
    )


def config_from_dict(values: Mapping[str, Any], project: ProjectFile) -> dict[str, str]:
    """Engine config from a dict written like a stack file's ``config:`` (values not yet encoded)."""
    config = dict(project.defaults)
    config.update({_full_key(project.name, key): _encode(value) for key, value in values.items()})
    return config
