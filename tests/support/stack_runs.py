"""Fixtures for the infrastructure tests: whole-stack runs under the offline engine (see harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.harness import STACK_FILES, StackRun, run_stack


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
