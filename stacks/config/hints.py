"""How to fix a config value of the wrong type, said in the stack file's own terms (stacks/config/loader.py
appends it to the type error)."""

from __future__ import annotations

import json
from typing import Any

_YAML_BOOLEAN_LOOKALIKES = frozenset({"yes", "no", "on", "off", "y", "n", "True", "False", "TRUE", "FALSE"})


def type_hint(error_type: str, value: Any, key: str) -> str:
    """How to fix a value of the wrong type, in the stack file's own terms: quote a number or boolean where a
    string is expected (YAML reads ``16`` and ``1.30`` as numbers; ``pulumi config set --type string`` does
    the same for a top-level key), unquote a quoted number or boolean, write true/false for yes/no (YAML 1.2,
    which the Pulumi CLI reads, keeps ``yes`` a string)."""
    leaf = key.rsplit(".", 1)[-1]
    top_level = "." not in key  # a whole key, as `pulumi config set` writes it
    if error_type == "string_type" and isinstance(value, (bool, int, float)):
        written = json.dumps(value)
        fix = f'; quote it: {key if top_level else leaf}: "{written}"'
        if top_level:
            fix += f" (or: pulumi config set --type string {key} {written})"
        if isinstance(value, float):
            fix += "; unquoted, a number loses its trailing zeros (1.30 reads as 1.3)"
        return fix
    if error_type in ("int_type", "int_parsing", "float_type") and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f"; unquote it: {leaf}: {value}"
    if error_type == "bool_type" and isinstance(value, str):
        if value.lower() in ("true", "false") and value not in ("True", "False", "TRUE", "FALSE"):
            return f"; unquote it: {leaf}: {value.lower()}"
        if value in _YAML_BOOLEAN_LOOKALIKES:
            return f"; write true or false (YAML 1.2, which the Pulumi CLI reads, keeps {value} a string)"
    return ""
