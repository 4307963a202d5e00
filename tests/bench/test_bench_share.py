"""`python -m bench.share` (docs/benchmarks.md, "Why req/s does not follow CPU per request"): its command line
and the machine counters it divides by; the run itself starts the whole fleet and is not a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.share import machine_jiffies

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_the_command_line_is_documented_and_parses() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.share", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "--rounds" in done.stdout
    assert "--seconds" in done.stdout
    assert "python -m bench.share" in (REPO / "docs" / "benchmarks.md").read_text()


def test_machine_jiffies_count_idle_within_total() -> None:
    total0, idle0 = machine_jiffies()
    sum(range(2_000_000))  # some CPU time passes
    total1, idle1 = machine_jiffies()
    assert total1 > total0
    assert 0 <= idle1 - idle0 <= total1 - total0
