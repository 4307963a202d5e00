"""Read a Pulumi project file and a stack file into what the engine hands the language host, refusing what
the Pulumi CLI refuses.

The engine passes config as ``namespace:key`` -> string, structured values JSON-encoded. A key without a
namespace belongs to the project. ``secure:`` values need the CLI's secrets provider to decrypt; offline they
become a placeholder and the key is reported secret, so the program still sees a secret value.

The checks are the CLI's, ported from pulumi/pulumi (read at commit 1b5949891b3c, v3.27x), with its message
texts, so that a ``Pulumi.yaml`` or stack file the CLI would refuse fails the preview and the tests the same
way:
- ``sdk/go/common/workspace/loaders.go`` ``LoadProjectBytes``: ``ValidateProject`` (name, then the JSON
  schema ``project.json``, vendored here as ``pulumi_project_schema.json``), ``RewriteShorthandConfigValues``,
  then ``Project.Validate``;
- ``sdk/go/common/workspace/project.go`` ``Project.Validate``, ``configKeyIsNamespacedByProject``,
  ``ValidateConfigValue``, ``InferFullTypeName``;
- ``pkg/workspace/config.go`` ``mergeConfig`` (project ``default``/``value`` applied, missing required keys)
  and ``validateStackConfigValue`` (a stack value against its declared ``type``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SECURE_PLACEHOLDER = "offline-placeholder-secret"
SCHEMA_FILE = Path(__file__).with_name("pulumi_project_schema.json")
"""pulumi/pulumi ``sdk/go/common/workspace/project.json`` at commit 1b5949891b3c, unchanged."""


class ProjectError(Exception):
    """The CLI would refuse ``Pulumi.yaml`` or a stack's config before the program runs (its message)."""


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


def _refuse_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    """The CLI reads stack files and Pulumi.yaml with Go's yaml.v3, which refuses a key given twice in one
    mapping at any depth: gopkg.in/yaml.v3 v3.0.1 decode.go, ``decoder.mapping`` (``uniqueKeys``):
    "line %d: mapping key %#v already defined at line %d". PyYAML keeps the last value silently."""
    seen: dict[str, yaml.Mark] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.get(key_node.value)
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f'mapping key "{key_node.value}" already defined at line {first.line + 1}',
                key_node.start_mark,
            )
        seen[key_node.value] = key_node.start_mark


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    _refuse_duplicate_keys(loader, node)
    return loader.construct_yaml_map(node)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _construct_unique_mapping)


def yaml_error_line(path: str | Path, error: yaml.YAMLError) -> str:
    """One line for a YAML problem: ``Pulumi.dev.yaml:16:16: <problem>`` (1-based line and column of the
    problem, as editors and the CLI's ``line N`` count), instead of PyYAML's multi-line report."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if mark is not None:
            return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}"
        return f"{path}: {problem}"
    return f"{path}: {error}"


def load_yaml(text: str, *, path: str | Path) -> Any:
    """Read a stack file or Pulumi.yaml as the CLI does (YAML 1.2 core scalars, duplicate keys refused);
    ProjectError with one ``file:line:column: problem`` line when the YAML is malformed."""
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ProjectError(yaml_error_line(path, exc)) from None


def _load_yaml(text: str, path: str | Path = "Pulumi.yaml") -> Any:
    return load_yaml(text, path=path)


@dataclass(frozen=True, slots=True)
class ConfigDeclaration:
    """One ``config:`` entry of ``Pulumi.yaml`` after the CLI's shorthand rewrite (``ProjectConfigType``)."""

    type: str | None = None
    items: Mapping[str, Any] | None = None
    default: Any = None
    value: Any = None
    secret: bool = False
    description: str = ""

    def full_type_name(self) -> str:
        """``InferFullTypeName``: ``array<string>`` for an array of strings."""
        return _full_type_name(self.type or "", self.items)


@dataclass(frozen=True, slots=True)
class ProjectFile:
    """What the engine reads from ``Pulumi.yaml``."""

    directory: Path
    name: str
    main: str
    defaults: Mapping[str, str]
    """Project config defaults and values (``default:``/``value:``) as engine strings, by full key."""
    config: Mapping[str, ConfigDeclaration]
    """The ``config:`` block as written (keys as in the file), in file order."""


@dataclass(frozen=True, slots=True)
class StackFile:
    """What the engine reads from ``Pulumi.<stack>.yaml``."""

    path: Path
    stack: str
    config: Mapping[str, str]
    secret_keys: tuple[str, ...]


def _encode(value: Any) -> str:
    # pkg/workspace/config.go createConfigValue: string, int and bool as text ("%v"), the rest as JSON.
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def key_is_namespaced_by_project(project: str, key: str) -> bool:
    """project.go ``configKeyIsNamespacedByProject``."""
    return ":" not in key or key.startswith(project + ":")


def _full_type_name(type_name: str, items: Mapping[str, Any] | None) -> str:
    # project.go InferFullTypeName.
    if items is not None:
        return f"array<{_full_type_name(str(items.get('type', '')), items.get('items'))}>"
    return type_name


def config_value_is_valid(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """project.go ``ValidateConfigValue``: a (decoded) value against a declared type."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        # "Config values come from YAML which by default will return floats not int. If it's a whole number
        # we'll allow it here though"; and "Allow strings here if they parse as integers" (strconv.Atoi).
        if isinstance(value, float):
            return value == int(value)
        return isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value) is not None
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(config_value_is_valid(str(items.get("type", "")), items.get("items"), item) for item in value)


@cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def _validate_project_document(document: Any) -> None:
    """project.go ``ValidateProject`` (the CLI wraps its error as ``could not validate '<path>': ...``)."""
    if not isinstance(document, dict):
        raise ProjectError(f"expected project to be an object, was '{type(document).__name__}'")
    if "name" not in document:
        raise ProjectError("project is missing a 'name' attribute")
    if not isinstance(document["name"], str) or document["name"] == "":
        raise ProjectError("project is missing a non-empty string 'name' attribute")
    # The CLI checks the rest with the JSON schema (santhosh-tekuri/jsonschema) and prints each failure as
    # "#<instance location>: <message>"; the location is the CLI's, the wording here is python-jsonschema's.
    errors = sorted(_schema_validator().iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        raise ProjectError(
            "\n".join(
                f"#/{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
                for error in errors
            )
        )


def _rewrite_shorthand(name: str, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """project.go ``RewriteShorthandConfigValues``: ``key: value`` becomes a default in the project's
    namespace and a value outside it."""
    rewritten: dict[str, dict[str, Any]] = {}
    for key, spec in config.items():
        if isinstance(spec, dict):
            rewritten[key] = spec
        elif key_is_namespaced_by_project(name, key):
            rewritten[key] = {"default": spec}
        else:
            rewritten[key] = {"value": spec}
    return rewritten


def validate_project_config(name: str, config: Mapping[str, ConfigDeclaration]) -> None:
    """project.go ``Project.Validate``, message for message (file order instead of Go's map order)."""
    for key, declared in config.items():
        if declared.default is not None and declared.value is not None:
            raise ProjectError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if key_is_namespaced_by_project(name, key):
            if declared.type == "array" and declared.items is None:
                raise ProjectError(
                    f"The configuration key '{key}' declares an array "
                    "but does not specify the underlying type via the 'items' attribute"
                )
            if (
                declared.type is not None
                and declared.default is not None
                and not config_value_is_valid(declared.type, declared.items, declared.default)
            ):
                raise ProjectError(
                    f"The default value specified for configuration key '{key}' is not of the expected "
                    f"type '{declared.full_type_name()}'"
                )
        else:
            if declared.type is not None:
                raise ProjectError(
                    f"Configuration key '{key}' is not namespaced by the project and should not define a type"
                )
            if declared.default is not None:
                raise ProjectError(
                    f"Configuration key '{key}' is not namespaced by the project and "
                    "should not define a default value. "
                    "Did you mean to use the 'value' attribute instead of 'default'?"
                )
            if declared.value is None:
                raise ProjectError(
                    f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
                )


def parse_project(text: str, directory: str | Path, *, path: str = "Pulumi.yaml") -> ProjectFile:
    """``LoadProjectBytes``: parse and validate the text of a ``Pulumi.yaml``."""
    document = _load_yaml(text, path)
    try:
        _validate_project_document(document)
    except ProjectError as exc:
        raise ProjectError(f"could not validate '{path}': {exc}") from None
    name = str(document["name"])
    raw_config = document.get("config")
    if isinstance(raw_config, str):  # RewriteConfigPathIntoStackConfigDir: the old stackConfigDir spelling
        raw_config = None
    config = {
        str(key): ConfigDeclaration(
            type=spec.get("type"),
            items=spec.get("items"),
            default=spec.get("default"),
            value=spec.get("value"),
            secret=bool(spec.get("secret", False)),
            description=str(spec.get("description", "")),
        )
        for key, spec in _rewrite_shorthand(name, raw_config or {}).items()
    }
    try:
        validate_project_config(name, config)
    except ProjectError as exc:
        raise ProjectError(f"could not unmarshal '{path}': {exc}") from None
    defaults: dict[str, str] = {}
    for key, declared in config.items():
        # mergeConfig: "if hasDefault { value = projectConfigType.Default }" after the value, so default wins.
        chosen = declared.default if declared.default is not None else declared.value
        if chosen is not None:
            defaults[_full_key(name, key)] = _encode(chosen)
    return ProjectFile(
        directory=Path(directory).resolve(),
        name=name,
        main=str(document.get("main") or "."),
        defaults=defaults,
        config=config,
    )


def read_project(directory: str | Path) -> ProjectFile:
    """Parse and validate ``<directory>/Pulumi.yaml``; ProjectError carries the CLI's message."""
    root = Path(directory).resolve()
    path = root / "Pulumi.yaml"
    return parse_project(path.read_text(), root, path=str(path))


def stack_name_from_path(path: str | Path) -> str:
    """``Pulumi.prod.yaml`` -> ``prod``."""
    name = Path(path).name
    if not (name.startswith("Pulumi.") and name.endswith(".yaml")) or name == "Pulumi.yaml":
        raise ValueError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    return name[len("Pulumi.") : -len(".yaml")]


def _format_missing(keys: list[str]) -> str:
    # pkg/workspace/config.go formatMissingKeys.
    if len(keys) == 1:
        return f"'{keys[0]}'"
    keys = sorted(keys)
    return (
        ", ".join(f"'{key}'" for key in keys[:-2])
        + (", " if len(keys) > 2 else "")
        + (f"'{keys[-2]}' and '{keys[-1]}'")
    )


def _stack_value(value: Any) -> tuple[str, bool]:
    """config.Value as the CLI stores a stack file's value (object.go ``MarshalString``): (text, object)."""
    if isinstance(value, str):
        return value, False
    if isinstance(value, (bool, int, float)):
        return json.dumps(value), False
    return json.dumps(value), True


def merge_config(
    project: ProjectFile, stack: str, values: Mapping[str, Any], secure_keys: frozenset[str] = frozenset()
) -> dict[str, str]:
    """``mergeConfig`` with validation, as ``pulumi preview``/``up`` run it: project defaults and values fill
    what the stack does not set; a project key without either must be set; typed keys are checked.

    ``values`` is a stack file's ``config:`` map (keys as written, values as YAML decoded them); a ``secure:``
    value, which only the CLI can decrypt, becomes a placeholder. Keys in ``secure_keys`` (full keys) are
    secret: not type-checked (the CLI checks them decrypted), and they satisfy ``secret: true``.
    """
    config: dict[str, str] = {}
    objects: set[str] = set()
    for key, value in values.items():
        full_key = _full_key(project.name, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = SECURE_PLACEHOLDER
            continue
        config[full_key], is_object = _stack_value(value)
        if is_object:
            objects.add(full_key)
    missing: list[str] = []
    for key in sorted(project.config):
        declared = project.config[key]
        full_key = _full_key(project.name, key)
        if full_key in config:
            continue
        if declared.default is None and declared.value is None and full_key.split(":")[0] == project.name:
            missing.append(key)
        elif full_key in project.defaults:
            config[full_key] = project.defaults[full_key]
            chosen = declared.default if declared.default is not None else declared.value
            if not isinstance(chosen, (str, int, bool)):  # createConfigValue: isPrimitiveValue
                objects.add(full_key)
    if missing:
        # config.go missingStackConfigurationKeysError.
        plural = "values" if len(missing) > 1 else "value"
        raise ProjectError(f"Stack '{stack}' is missing configuration {plural} {_format_missing(missing)}")
    for key in sorted(project.config):
        declared = project.config[key]
        full_key = _full_key(project.name, key)
        if declared.type is None:
            continue  # validateStackConfigValues checks only explicitly typed keys
        if declared.secret and full_key not in secure_keys:
            # config.go validateStackConfigValue.
            raise ProjectError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if full_key in secure_keys:
            continue  # a secure value is checked once decrypted, which needs the CLI's secrets provider
        text = config[full_key]
        content: Any = json.loads(text) if full_key in objects else text
        if not config_value_is_valid(declared.type, declared.items, content):
            type_name = declared.full_type_name()
            raise ProjectError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name}'"
            )
    return config


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def stack_config_mapping(document: Any, path: str | Path) -> dict[str, Any]:
    """The ``config:`` mapping of a parsed stack file. The CLI unmarshals the file into its ProjectStack
    struct (pulumi/pulumi sdk/go/common/workspace/project.go: ``Config config.Map `yaml:"config"```), so a
    file that is not a mapping, a ``config:`` that is not a mapping, or a config key that is not a string is
    refused before any config is read; an empty file or ``config:`` alone is an empty config."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ProjectError(
            f"{path}: a stack file is a mapping with a config: mapping; this file is {_kind(document)}"
        )
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ProjectError(f"{path}: config: must be a mapping of key to value; it is {_kind(config)}")
    for key in config:
        if not isinstance(key, str):
            raise ProjectError(f"{path}: config key {key!r} is not a string; write it as namespace:key")
    return dict(config)


def read_stack(path: str | Path, project: ProjectFile, *, stack: str | None = None) -> StackFile:
    """Parse a stack file and validate it against the project as the CLI does (ProjectError if refused)."""
    file = Path(path)
    name = stack or stack_name_from_path(file)
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:  # yaml.v3 refuses a file that is not UTF-8 (or UTF-16 with a BOM)
        message = f"{file}: yaml: invalid UTF-8 at byte {exc.start}; save the file as UTF-8"
        raise ProjectError(message) from None
    values = stack_config_mapping(_load_yaml(text, file), file)
    secure = frozenset(
        _full_key(project.name, key)
        for key, value in values.items()
        if isinstance(value, dict) and set(value) == {"secure"}
    )
    return StackFile(
        path=file,
        stack=name,
        config=merge_config(project, name, values, secure),
        secret_keys=tuple(sorted(secure)),
    )


def config_from_dict(
    values: Mapping[str, Any], project: ProjectFile, *, stack: str, secret_keys: tuple[str, ...] = ()
) -> dict[str, str]:
    """Engine config from a dict written like a stack file's ``config:`` (values not yet encoded), validated
    against the project as the CLI validates a stack file."""
    return merge_config(project, stack, values, frozenset(secret_keys))
