"""Whole-stack runs under the offline engine as fixtures (``dev_run``, ``prod_run``, ``stack_run``, and
``prod_graph``, ``stack``, ``manifests`` built on them) for the infra, stacks, policy and delivery tests;
registered for the whole suite by tests/conftest.py (see harness.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy import PolicyResource, from_records
from tests.support.harness import STACK_FILES, StackRun, run_stack
from tests.support.workloads import manifests_of, run_workloads


@pytest.fixture(scope="session")
def dev_run() -> StackRun:
    """The dev stack (Pulumi.dev.yaml), run once per session."""
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod_run() -> StackRun:
    """The prod stack (Pulumi.prod.yaml), run once per session."""
    return run_stack("prod")


@pytest.fixture(params=STACK_FILES, ids=lambda path: Path(path).stem.removeprefix("Pulumi."))
def stack_run(request: pytest.FixtureRequest) -> StackRun:
    """Every ``Pulumi.*.yaml`` in the project, one test per stack file."""
    return run_stack(request.param)


@pytest.fixture
def prod_graph(prod_run: StackRun) -> list[PolicyResource]:
    """The prod stack as the policy rules see it (a fresh list per test, to break on purpose)."""
    return from_records(prod_run)


@pytest.fixture(scope="module", params=("dev", "prod"))
def stack(request: pytest.FixtureRequest) -> str:
    """dev and prod, one test each: the committed stacks whose workloads and manifests are checked."""
    return str(request.param)


@pytest.fixture(scope="module")
def manifests(stack: str) -> list[dict[str, Any]]:
    """The Kubernetes manifests of the stack's real program (names the provider generated filled in)."""
    return manifests_of(run_workloads(stack))
