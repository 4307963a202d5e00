"""The reference tables of docs/configuration.md, derived from the config models.

Every section model is walked field by field (nested models, maps of models and lists of models included), so
that a test can check that the docs name every key with its current default, and so that a section's table can
be printed instead of typed: ``python -m stacks.config.docs network``.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
import textwrap
import types
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class KeyDoc:
    """One documented key of a section."""

    path: str
    """Key path inside the section, e.g. ``proxy.maxConnectionsPercent`` or ``nodeGroups.<name>.maxSize``."""
    type: str
    """Human-readable type with its bounds."""
    default: str
    """The default as a stack file would write it, or ``required``."""
    meaning: str
    """The field's docstring."""

    def row(self) -> str:
        """This key as a Markdown table row."""
        meaning = self.meaning.replace("|", "\\|").replace("\n", " ")
        return f"| `{self.path}` | {self.type} | `{self.default}` | {meaning} |"


def model_keys(model: type[BaseModel], prefix: str = "") -> list[KeyDoc]:
    """Every key of ``model``, nested ones as dotted paths, in declaration order."""
    docs = _field_docstrings(model)
    keys: list[KeyDoc] = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        path = f"{prefix}{alias}"
        keys.append(KeyDoc(path, describe_type(field), render_default(field), docs.get(name, "")))
        nested, suffix = _nested_model(field.annotation)
        if nested is not None:
            keys.extend(model_keys(nested, f"{path}{suffix}"))
    return keys


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds (directly, optionally, in a map or a list) and the path joint to reach it."""
    if _is_model(annotation):
        return annotation, "."
    origin = get_origin(annotation)
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if origin in (Union, types.UnionType) and len(args) == 1:
        return _nested_model(args[0])
    if origin is dict and args and _is_model(args[-1]):
        return args[-1], ".<name>."
    if origin is list and args and _is_model(args[0]):
        return args[0], "[]."
    return None, ""


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def describe_type(field: FieldInfo) -> str:
    """``int, 2 to 6``; ``none | single | perAz``; ``list of string``; ``string or null``."""
    text = _type_name(field.annotation)
    bounds = _bounds(field.metadata)
    return f"{text}, {bounds}" if bounds else text


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " \\| ".join(str(arg) for arg in args)
    if origin in (Union, types.UnionType):
        names = [_type_name(arg) for arg in args if arg is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if getattr(annotation, "__metadata__", None) is not None:  # Annotated[...]
        return _type_name(args[0])
    if _is_model(annotation):
        return "object"
    return {int: "int", str: "string", bool: "bool", float: "number"}.get(annotation, str(annotation))


def _bounds(metadata: list[Any]) -> str:
    low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return ""


def render_default(field: FieldInfo) -> str:
    """The default as JSON-ish stack file text (``10.0.0.0/16``, ``true``, ``null``, ``[]``)."""
    if field.is_required():
        return REQUIRED
    value = field.get_default(call_default_factory=True, validated_data={})
    if value is PydanticUndefined:
        return REQUIRED
    if isinstance(value, BaseModel):
        return "see below" if type(value).model_fields else "{}"
    if isinstance(value, str):
        return value or '""'
    # Models inside a default (e.g. a default node group) print as a stack file would write them.
    return json.dumps(value, default=_model_json)


def _model_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    raise TypeError(f"cannot render a default of type {type(value).__name__}")


@cache
def _field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Attribute docstrings (a string right after an annotated assignment), by field name."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for current, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(current, ast.AnnAssign)
            and isinstance(current.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[current.target.id] = " ".join(following.value.value.split())
    return docs


def section_models() -> dict[str, type[BaseModel]]:
    """``nexus:<key>`` -> its model, for every key that is one model (shardDefaults included)."""
    from stacks.config.loader import SECTIONS
    from stacks.config.sections import ShardSettings

    return {**SECTIONS, "shardDefaults": ShardSettings}


def table(key: str) -> str:
    """The Markdown reference table of ``nexus:<key>``."""
    header = "| Key | Type | Default | Meaning |\n|---|---|---|---|"
    return "\n".join([header, *(key_doc.row() for key_doc in model_keys(section_models()[key]))])


def main(argv: list[str]) -> int:
    """Print the tables of the sections named on the command line (all when none); status 1 for a key that
    has no table, naming the ones that have."""
    from stacks.errors import ArgumentParser

    sections = list(section_models())
    parser = ArgumentParser(
        prog="python -m stacks.config.docs",
        description="Print the reference table of each nexus:<section> of docs/configuration.md.",
    )
    parser.add_argument(
        "sections",
        nargs="*",
        metavar="SECTION",
        help=f"a section, with or without 'nexus:' ({', '.join(sections)}, shards); all when none",
    )
    keys = [key.removeprefix("nexus:") for key in parser.parse_args(argv).sections] or sections
    unknown = [key for key in keys if key not in sections and key != "shards"]
    if unknown:
        from stacks.errors import print_problems

        return print_problems(
            f"nexus:{key} has no reference table; sections with one: {', '.join(sections)}, shards"
            for key in unknown
        )
    for key in keys:
        if key == "shards":  # a map of shard id to `tenants` plus any nexus:shardDefaults key (loader.py)
            print(
                "## nexus:shards\n\nA map of shard id to `tenants` (a list of tenant ids) plus any key of "
                f"nexus:shardDefaults, which override its defaults:\n\n{table('shardDefaults')}\n"
            )
        else:
            print(f"## nexus:{key}\n\n{table(key)}\n")
    return 0


if __name__ == "__main__":
    from stacks.errors import guarded

    raise SystemExit(guarded(lambda: main(sys.argv[1:])))
