"""`python -m bench.poolab` (docs/benchmarks.md, "Issue 18: changes, each measured"): its command line; the
run itself starts a local stack and two API instances and is not a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.poolab import _env_pairs

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_the_command_line_is_documented_and_parses() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.poolab", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for option in ("--a-tree", "--a-env", "--b-env", "--rounds", "--seconds", "--connections"):
        assert option in done.stdout
    assert "python -m bench.poolab" in (REPO / "docs" / "benchmarks.md").read_text()


def test_side_settings_are_key_value_pairs() -> None:
    assert _env_pairs(["NEXUS_DB_QUEUE_TIMEOUT_SECONDS=4", "A=b=c"]) == {
        "NEXUS_DB_QUEUE_TIMEOUT_SECONDS": "4",
        "A": "b=c",
    }
