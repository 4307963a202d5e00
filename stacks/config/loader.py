"""The one config boundary: raw stack config in, a validated StackConfig or a list of problems out.

Raw config is what the Pulumi engine hands a program: a map of ``namespace:key`` to strings, where objects,
lists, numbers and booleans are JSON-encoded. Validation runs in pydantic's strict JSON mode, so types are
checked as the stack file wrote them.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from infra.subnets import SubnetLayoutError, plan_subnets
from stacks.config.alb import AlbConfig
from stacks.config.cache import CacheConfig
from stacks.config.cluster import ClusterConfig
from stacks.config.crosschecks import CROSS_CHECKS
from stacks.config.hardening import AlarmsConfig, LogsConfig, VpcEndpointsConfig, WafConfig
from stacks.config.hints import type_hint
from stacks.config.model import Shard, StackConfig
from stacks.config.sections import (
    SHARD_ID_PATTERN,
    ApiConfig,
    NetworkConfig,
    ShardSettings,
    TenantId,
    is_dns_safe_shard_id,
)
from stacks.config.storage import StorageConfig
from stacks.config.tenant_moves import load_tenant_moves
from stacks.config.worker import WorkerConfig

# Sections that are one model each, validated the same way (default: the model's defaults). A new section is
# a model here, a field of StackConfig, a declaration in Pulumi.yaml and a part of docs/configuration.md.
SECTIONS: dict[str, type[BaseModel]] = {
    "network": NetworkConfig,
    "api": ApiConfig,
    "worker": WorkerConfig,
    "cluster": ClusterConfig,
    "alb": AlbConfig,
    "cache": CacheConfig,
    "storage": StorageConfig,
    # Production hardening (stacks/config/hardening.py).
    "waf": WafConfig,
    "alarms": AlarmsConfig,
    "logs": LogsConfig,
    "vpcEndpoints": VpcEndpointsConfig,
}

NAMESPACE = "nexus"
PROJECT = NAMESPACE
"""The project's name (Pulumi.yaml ``name``, a test checks): the config keys must be the project's own,
since the CLI lets only those declare a ``type`` and a ``default`` (pulumi/pulumi project.go
``Project.Validate``)."""

# Every nexus:* key the program reads. Pulumi.yaml declares exactly these (a test checks both ways).
KNOWN_KEYS: tuple[str, ...] = (
    "environment",
    "network",
    "shardDefaults",
    "shards",
    "defaultShard",
    "api",
    "worker",
    "cluster",
    "alb",
    "cache",
    "storage",
    "tags",
    "allowUnknownTypes",
    "waf",
    "alarms",
    "logs",
    "vpcEndpoints",
    "tenantMoves",
)
OTHER_KEYS: tuple[str, ...] = ("aws:region",)

# The namespaces a stack file of this project may use: its own, the AWS provider's (the program's default
# AWS provider reads aws:* config) and the CLI's reserved ``pulumi:`` (e.g. pulumi:tags). The Pulumi CLI
# itself accepts keys of any namespace (pulumi/pulumi project.go ``ValidateConfigValue`` checks only the
# project's own declared keys), so a typo'd namespace such as ``nexsu:worker`` would be ignored and the
# defaults used: this refusal is the project's own, stricter rule (docs/configuration.md). The Kubernetes
# provider is explicit (built from the cluster's kubeconfig), so kubernetes:* keys would have no effect and
# are refused too.
KNOWN_NAMESPACES: tuple[str, ...] = (NAMESPACE, "aws", "pulumi")


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """``; did you mean X?`` for the closest choice (difflib's ratio >= 0.6), or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


@functools.cache
def aws_provider_keys() -> tuple[str, ...]:
    """The aws:* config keys the AWS provider reads, from the installed pulumi-aws SDK's own config module
    (pulumi_aws/config/vars.py: one ``__config__.get...('<key>')`` per provider setting)."""
    spec = importlib.util.find_spec("pulumi_aws")  # read, not imported: the module runs provider code
    origin = spec.origin if spec is not None else None
    if origin is None:
        raise RuntimeError("pulumi-aws (a pinned dependency) is not installed")
    source = (Path(origin).parent / "config" / "vars.py").read_text()
    return tuple(sorted(set(re.findall(r"__config__\.get\w*\('(\w+)'\)", source))))


def _namespace_problems(raw: Mapping[str, str]) -> list[str]:
    """Keys outside the project's namespaces, and aws:* keys the AWS provider does not read."""
    problems: list[str] = []
    for full_key in sorted(raw):
        namespace, _, key = full_key.partition(":")
        if namespace == "aws":
            aws_keys = aws_provider_keys()
            if key not in aws_keys:
                hint = _did_you_mean(full_key, [f"aws:{k}" for k in aws_keys])
                problems.append(
                    f"{full_key}: unknown key of the AWS provider{hint or '; valid keys are: '}"
                    + ("" if hint else ", ".join(f"aws:{k}" for k in aws_keys))
                )
        elif namespace not in KNOWN_NAMESPACES:
            namespaces = ", ".join(f"{n}:*" for n in KNOWN_NAMESPACES)
            hint = _did_you_mean(namespace, KNOWN_NAMESPACES).replace("?", f":{key}?")
            problems.append(
                f"{full_key}: unknown namespace {namespace!r} (this project reads only {namespaces} keys)"
                + hint
            )
    return problems


M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """Stack config is invalid. ``problems`` holds one line per problem, each naming the key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _path(*parts: object) -> str:
    key = f"{NAMESPACE}:{parts[0]}" if parts and ":" not in str(parts[0]) else str(parts[0])
    return ".".join([key, *(str(p) for p in parts[1:])])


def _format(error: Any, prefix: tuple[object, ...]) -> list[str]:
    loc = [*prefix, *error["loc"]]
    ctx = error.get("ctx") or {}
    if error["type"] == "unknown_key":
        valid = ctx["valid"]
        return [
            f"{_path(*loc, key)}: unknown key; valid keys here are: {valid}"
            + _did_you_mean(key, valid.split(", "))
            for key in ctx["unknown"]
        ]
    if error["type"] == "field_error":
        loc.append(ctx["field"])
    message = error["msg"]
    if error["type"] == "missing":
        message = "required key is missing"
    elif _is_builtin_check(error["type"]):
        # pydantic's own messages say what is valid but not what was given; a stack file author needs both.
        message = (
            f"{message}; got {_shown(error.get('input'))}"
            f"{type_hint(error['type'], error.get('input'), _path(*loc))}"
        )
    return [f"{_path(*loc)}: {message}"]


_BUILTIN_CHECKS = frozenset(
    {
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "string_pattern_mismatch",
        "string_too_short",
        "string_too_long",
        "too_short",
        "too_long",
        "int_from_float",
    }
)


def _is_builtin_check(error_type: str) -> bool:
    return error_type in _BUILTIN_CHECKS or error_type.endswith(("_type", "_parsing"))


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)[:60]


def _validate(model: type[M], value: Any, prefix: tuple[object, ...], problems: list[str]) -> M | None:
    # An unknown key stops pydantic at that level (the check runs before the fields), which would hide every
    # other problem of the section; so drop the unknown keys and validate again, one nesting level per pass.
    errors: list[Any] = []
    for _ in range(_MAX_NESTING):
        try:
            result = model.model_validate_json(json.dumps(value), strict=True)
        except ValidationError as exc:
            found = exc.errors(include_url=False)
            unknown = [error for error in found if error["type"] == "unknown_key"]
            if not unknown:
                errors.extend(found)
                break
            errors.extend(unknown)
            value = _without_unknown_keys(value, unknown)
        else:
            if not errors:
                return result
            break
    for error in errors:
        problems.extend(_format(error, prefix))
    return None


_MAX_NESTING = 8


def _without_unknown_keys(value: Any, unknown_errors: list[Any]) -> Any:
    value = json.loads(json.dumps(value))  # a deep copy
    for error in unknown_errors:
        node = value
        for part in error["loc"]:
            node = node[part]
        for key in error["ctx"]["unknown"]:
            node.pop(key, None)
    return value


def _decode(value: str) -> Any:
    """A config value as the stack file wrote it: JSON for structured values, else the plain string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _expect(kind: type, value: Any, path: str, problems: list[str], what: str) -> bool:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return True
    names = {str: "string_type", bool: "bool_type", int: "int_type"}
    hint = type_hint(names[kind], value, path) if kind in names else ""
    problems.append(f"{path}: expected {what}, got {type(value).__name__} {json.dumps(value)[:60]}{hint}")
    return False


def load(raw: Mapping[str, str], *, stack: str, project: str = PROJECT) -> StackConfig:
    """Validate raw config; raise ConfigError listing every problem found."""
    problems: list[str] = _namespace_problems(raw)
    values: dict[str, Any] = {}
    for full_key, encoded in sorted(raw.items()):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE:
            if key not in KNOWN_KEYS:
                known = [_path(k) for k in KNOWN_KEYS]
                problems.append(
                    f"{full_key}: unknown key; valid keys are: {', '.join(known)}"
                    + _did_you_mean(full_key, known)
                )
            else:
                values[key] = _decode(encoded)
    region = raw.get("aws:region")
    if not region:
        problems.append("aws:region: required key is missing; set it in the stack file, e.g. us-east-1")

    environment = values.get("environment", "dev")
    if environment not in ("dev", "staging", "prod"):
        problems.append(
            f"{_path('environment')}: {environment!r} is not valid; use one of dev, staging, prod"
        )

    sections: dict[str, Any] = {}
    for key, model in SECTIONS.items():
        sections[key] = _validate(model, values.get(key, {}), (key,), problems)
    network = sections["network"]
    if network is not None:
        try:
            plan_subnets(network.cidr, network.az_count)
        except SubnetLayoutError as exc:
            problems.append(f"{_path('network', 'cidr')}: {exc}")
    defaults_raw = values.get("shardDefaults", {})
    defaults = _validate(ShardSettings, defaults_raw, ("shardDefaults",), problems)
    shards = _load_shards(values.get("shards"), defaults_raw if defaults is not None else None, problems)

    # Pulumi.yaml declares a string with the default "" (the CLI requires every key without a default): none.
    default_shard = values.get("defaultShard")
    if default_shard == "":
        default_shard = None
    if default_shard is not None and _expect(
        str, default_shard, _path("defaultShard"), problems, "a shard id"
    ):
        # Checked against the declared ids, so that a problem inside a shard does not also report this key.
        declared = values.get("shards")
        if isinstance(declared, dict) and default_shard not in declared:
            valid = ", ".join(sorted(declared)) or "(no shards)"
            problems.append(
                f"{_path('defaultShard')}: {default_shard!r} is not a shard; valid shard ids: {valid}"
            )

    tags = values.get("tags", {})
    if _expect(dict, tags, _path("tags"), problems, "a map of tag name to string"):
        for tag_key, tag_value in tags.items():
            _expect(str, tag_value, _path("tags", tag_key), problems, "a string")

    allow_unknown = values.get("allowUnknownTypes", False)
    _expect(bool, allow_unknown, _path("allowUnknownTypes"), problems, "true or false")
    placements = {t: s.id for s in shards.values() for t in s.tenants} if shards is not None else None
    tenant_moves = load_tenant_moves(values.get("tenantMoves", {}), placements, problems)

    if problems or defaults is None or shards is None or region is None:
        raise ConfigError(problems)
    config = StackConfig(
        project=project,
        stack=stack,
        region=region,
        environment=environment,
        shards=shards,
        default_shard=default_shard,
        tags=dict(tags),
        allow_unknown_types=allow_unknown is True,
        tenant_moves=tenant_moves,
        **{_snake(key): value for key, value in sections.items()},
    )
    # Checks that span sections (capacity budgets, pod fit, prod safeguards) run on the whole config.
    for check in CROSS_CHECKS:
        problems.extend(check(config))
    if problems:
        raise ConfigError(problems)
    return config


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _load_shards(value: Any, defaults_raw: Any, problems: list[str]) -> dict[str, Shard] | None:
    path = _path("shards")
    if value is None:
        problems.append(f"{path}: required key is missing; declare at least one shard with its tenants")
        return None
    if not _expect(dict, value, path, problems, "a map of shard id to shard"):
        return None
    if not value:
        problems.append(f"{path}: no shards declared; declare at least one shard with its tenants")
        return None
    shards: dict[str, Shard] = {}
    owner: dict[str, str] = {}
    for shard_id in value:  # the stack file's order: first declaration of a tenant wins the report
        entry = value[shard_id]
        shard_path = _path("shards", shard_id)
        if not is_dns_safe_shard_id(shard_id):
            problems.append(
                f"{shard_path}: shard id {shard_id!r} is not DNS-safe; use 2-31 lowercase letters, digits "
                f"and hyphens, starting with a letter ({SHARD_ID_PATTERN})"
            )
            continue
        if not _expect(dict, entry, shard_path, problems, "a map with at least 'tenants'"):
            continue
        entry = dict(entry)
        tenants = _load_tenants(entry.pop("tenants", None), shard_id, owner, problems)
        settings = None
        if defaults_raw is not None:
            merged = {**defaults_raw, **entry}
            settings = _validate(ShardSettings, merged, ("shards", shard_id), problems)
        if tenants is not None and settings is not None:
            shards[shard_id] = Shard(id=shard_id, tenants=tenants, settings=settings)
    return shards


def _load_tenants(
    value: Any, shard_id: str, owner: dict[str, str], problems: list[str]
) -> tuple[str, ...] | None:
    path = _path("shards", shard_id, "tenants")
    if value is None:
        problems.append(f"{path}: required key is missing; list the tenant ids this shard holds")
        return None
    if not _expect(list, value, path, problems, "a list of tenant ids"):
        return None
    if not value:
        problems.append(f"{path}: a shard needs at least one tenant; remove the shard or add a tenant")
        return None
    tenant_problems: list[str] = []
    checker = _tenant_checker()
    for index, tenant in enumerate(value):
        if not isinstance(tenant, str) or not checker(tenant):
            tenant_problems.append(
                f"{path}.{index}: {json.dumps(tenant)} is not a valid tenant id; use lowercase letters, "
                "digits and inner hyphens, at most 63 characters"
            )
        elif tenant in owner:
            where = (
                "twice in this shard" if owner[tenant] == shard_id else f"already in shard {owner[tenant]!r}"
            )
            tenant_problems.append(
                f"{path}: tenant {tenant!r} is {where}; a tenant lives in exactly one shard"
            )
        else:
            owner[tenant] = shard_id
    problems.extend(tenant_problems)
    return None if tenant_problems else tuple(value)


def _tenant_checker() -> Callable[[str], bool]:
    from pydantic import TypeAdapter

    adapter = TypeAdapter(TenantId)

    def check(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return check


def _load_config(path: str | Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, read the way the Pulumi CLI (Go yaml.v3) does, through the
    offline engine's reader.

    YAML 1.2 core-schema scalars (``yes``/``on`` stay strings, ``010`` is ten, so that the config model
    refuses ``flowLogs: yes`` here exactly as under ``pulumi up``), and a key given twice at any depth is
    refused. A malformed file is one ConfigError line, ``file:line:column: problem``; so is a file, or a
    ``config:``, that is not a mapping. A file that cannot be read is one line too.
    """
    from offline.project import ProjectError, load_yaml, stack_config_mapping

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the stack file: {exc}"]) from None
    try:
        return stack_config_mapping(load_yaml(text, path=path), path)
    except ProjectError as exc:
        raise ConfigError([str(exc)]) from None


def read_stack_file(path: str | Path) -> dict[str, str]:
    """Raw config of a ``Pulumi.<stack>.yaml`` as the engine passes it (namespaced keys, JSON-encoded values).

    Keys without a namespace belong to the project. ``secure:`` values cannot be decrypted without the CLI;
    they are returned as a placeholder (the key is then listed by ``secret_keys_of``).
    """
    config = _load_config(path)
    raw: dict[str, str] = {}
    for key, value in config.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            raw[full_key] = "[secure placeholder]"
        else:
            raw[full_key] = value if isinstance(value, str) else json.dumps(value)
    return raw


def secret_keys_of(path: str | Path) -> list[str]:
    """Keys whose value is ``secure:`` in a stack file."""
    config = _load_config(path)
    return sorted(
        key if ":" in key else f"{PROJECT}:{key}"
        for key, value in config.items()
        if isinstance(value, dict) and set(value) == {"secure"}
    )


def stack_name_of(path: str | Path) -> str:
    """``Pulumi.prod.yaml`` -> ``prod``."""
    name = Path(path).name
    if not (name.startswith("Pulumi.") and name.endswith(".yaml")) or name == "Pulumi.yaml":
        raise ConfigError(
            [
                f"{path}: a stack file is named Pulumi.<stack>.yaml (the stack's name is read from it); "
                "rename it"
            ]
        )
    return name[len("Pulumi.") : -len(".yaml")]


def load_stack_file(path: str | Path, *, stack: str | None = None) -> StackConfig:
    """Validate a stack file directly (used by the local run and tests)."""
    return load(read_stack_file(path), stack=stack or stack_name_of(path))
