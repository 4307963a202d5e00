"""The cluster branch's policy rules: each holds on every stack (tests/policy/test_policy.py runs them all)
and fails on the real prod graph broken on purpose."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from policy import RULES, PolicyResource, Violation, check_rule

pytestmark = pytest.mark.infra


@pytest.fixture
def graph(prod_graph: list[PolicyResource]) -> list[PolicyResource]:
    return prod_graph


def violations(name: str, resources: list[PolicyResource]) -> list[Violation]:
    return check_rule(next(rule for rule in RULES if rule.name == name), resources)


def edit(
    resources: list[PolicyResource], match: Callable[[PolicyResource], bool], **changes: Any
) -> list[PolicyResource]:
    edited = [dataclasses.replace(r, **changes) if match(r) else r for r in resources]
    assert edited != resources, "the edit matched nothing"
    return edited


def one(resources: list[PolicyResource], type_: str, suffix: str = "") -> PolicyResource:
    found = [r for r in resources if r.type == type_ and r.name.endswith(suffix)]
    assert len(found) == 1, [r.urn for r in found]
    return found[0]
