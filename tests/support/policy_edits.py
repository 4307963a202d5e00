"""Breaking a policy rule on purpose: a rule's violations, and a graph with some resources edited."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from policy import RULES, PolicyResource, Violation, check_rule


def violations(name: str, resources: list[PolicyResource]) -> list[Violation]:
    """The violations of the one rule called ``name``."""
    (rule,) = [rule for rule in RULES if rule.name == name]
    return check_rule(rule, resources)


def edit(
    resources: list[PolicyResource], match: Callable[[PolicyResource], bool], **changes: object
) -> list[PolicyResource]:
    """``resources`` with ``changes`` applied to every matching one; at least one must match."""
    edited = [
        dataclasses.replace(r, **changes) if match(r) else r  # type: ignore[arg-type]
        for r in resources
    ]
    assert edited != resources, "the edit matched nothing"
    return edited
