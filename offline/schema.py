"""What the provider SDKs say about a resource type's inputs, read from their Python classes.

Used to catch a value that silently vanished: an Output that resolved to None is dropped from the inputs
the SDK sends, so a *required* input missing from a recorded registration means the program fed it a value
the cloud never computed (or the emulation forgot to compute it).
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache
from typing import Any

_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}


def _module_candidates(package: str, module: str) -> list[str]:
    root = _PACKAGES[package]
    if module == "index":
        return [root]
    if package == "kubernetes":
        group, _, version = module.partition("/")
        group = group.split(".")[0]  # networking.k8s.io -> networking, helm.sh -> helm
        return [f"{root}.{group}.{version}"]
    return [f"{root}.{module}", f"{root}.{module}_"]


_REQUIRED = re.compile(r"Missing required property '(\w+)'")


@cache
def resource_class(type_token: str) -> Any:
    """The SDK class of a type token (``aws:rds/proxy:Proxy`` is ``pulumi_aws.rds.Proxy``)."""
    try:
        package, module_path, class_name = type_token.split(":")
    except ValueError:
        return None
    if package not in _PACKAGES:
        return None
    module_part = module_path if package == "kubernetes" else module_path.split("/")[0]
    for candidate in _module_candidates(package, module_part):
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        found = getattr(module, class_name, None)
        if inspect.isclass(found):
            return found
    return None


@cache
def required_inputs(type_token: str) -> frozenset[str] | None:
    """Wire (camelCase) names of the inputs a resource type requires, or None when the class is unknown.

    Read from the SDK's own check (``raise TypeError("Missing required property 'x'")`` in the generated
    ``_internal_init``), which is exactly what the SDK refuses when the program passes None directly.
    """
    cls = resource_class(type_token)
    init = getattr(cls, "_internal_init", None)
    if init is None:
        return None
    from pulumi._types import resource_py_to_pulumi_names

    names = resource_py_to_pulumi_names(cls)
    return frozenset(names.get(name, name) for name in _REQUIRED.findall(inspect.getsource(init)))
