"""scripts/pr_change_view.py: the pull-request comment (change view against the base branch + cost change)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from tests.support.harness import PROJECT_DIR


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "pr_change_view", PROJECT_DIR / "scripts" / "pr_change_view.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("pr_change_view", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.infra
def test_the_comment_against_the_committed_tree_shows_the_change_view_and_the_cost_change() -> None:
    # Against HEAD: the program and stack files of the working tree are the committed ones in CI, so the view
    # is the summary line alone and the cost change is zero; what matters is that every part is there.
    body, status = _script().comment("dev", "HEAD")
    assert status == 0, body
    assert body.startswith("### `dev`: what this pull request changes (against `HEAD`)")
    assert "<details open><summary>Change view (stacks/changes.py)</summary>" in body
    assert "Resources: + " in body
    assert "<details><summary>Monthly cost and its change (docs/cost.md)</summary>" in body
    assert "Change in monthly cost against Pulumi.dev.yaml" in body
