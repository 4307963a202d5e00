"""Fixtures for the outside judges: every stack's plan, and one cfn-lint run over all templates at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from judges.plan import Plan, plan_of
from tests.judges.judges_support import (
    BOOTSTRAP_CHECKOV_BREAKS,
    BROKEN_STACK,
    OPTIONS_PLAN,
    bootstrap_names,
    bootstrap_run,
    broken_bootstrap_plan,
    broken_cfn_plan,
    broken_checkov_plan,
    options_config,
    runner_names,
    stack_names,
)
from tests.support.harness import run_stack


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The plan of every stack, of prod with every option on (runs are cached by the harness), and of the
    account bootstrap's stacks with and without the runner."""
    plans = {stack: plan_of(run_stack(stack)) for stack in stack_names()}
    plans[OPTIONS_PLAN] = plan_of(run_stack(options_config(), stack="prod"))
    for name in [*bootstrap_names(), *runner_names()]:
        plans[name] = plan_of(bootstrap_run(name))
    return plans


@pytest.fixture(scope="session")
def cfn_templates(plans: dict[str, Plan]) -> dict[str, tuple[dict[str, Any], str]]:
    """``{stack: (template, region)}`` for every stack, plus the deliberately broken plan."""
    from judges.cloudformation import to_template

    templates = {stack: (to_template(plan)[0], plan.region) for stack, plan in plans.items()}
    broken = broken_cfn_plan(plans["prod"])
    templates[BROKEN_STACK] = (to_template(broken)[0], broken.region)
    return templates


@pytest.fixture(scope="session")
def judge_runs(
    plans: dict[str, Plan], cfn_templates: dict[str, tuple[dict[str, Any], str]]
) -> Iterator[dict[str, Future[list[Any]]]]:
    """cfn-lint and checkov started together (each is one process over every document; CI has two cores)."""
    from judges.cfnlint import CFN_LINT, lint
    from judges.checkov import CHECKOV, scan
    from judges.terraform import to_plan_json

    for tool in (CFN_LINT, CHECKOV):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: `make setup` installs it in its own venv under .tools/")
    documents = {stack: to_plan_json(plan)[0] for stack, plan in plans.items()}
    documents[BROKEN_STACK] = to_plan_json(broken_checkov_plan(plans["prod"]))[0]
    bootstrap = broken_bootstrap_plan(plans[BOOTSTRAP_CHECKOV_BREAKS[0].base])
    documents[bootstrap.stack] = to_plan_json(bootstrap)[0]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {"cfn-lint": pool.submit(lint, cfn_templates), "checkov": pool.submit(scan, documents)}


@pytest.fixture(scope="session")
def cfn_findings(judge_runs: dict[str, Future[list[Any]]]) -> list[Any]:
    """cfn-lint's findings over every template and the broken one (results cached per template)."""
    return judge_runs["cfn-lint"].result()


@pytest.fixture(scope="session")
def checkov_findings(judge_runs: dict[str, Future[list[Any]]]) -> list[Any]:
    """checkov's failed checks over every stack's plan as Terraform plus the broken plan."""
    return judge_runs["checkov"].result()
