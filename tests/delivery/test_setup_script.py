"""`make setup` (scripts/setup.sh) prints one line per phase and keeps the full output in the log it names; a
failing phase says which, with the last lines of that log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.harness import PROJECT_DIR

pytestmark = pytest.mark.integration

SCRIPT = PROJECT_DIR / "scripts" / "setup.sh"
PHASES = ["system packages", "python venv", "python requirements", "checkov", "cfn-lint"]


def _run(cwd_script: Path, log: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NEXUS_SETUP_LOG=str(log))
    return subprocess.run(
        ["bash", str(cwd_script)], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def test_one_line_per_phase_and_the_full_output_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "setup.log"
    done = _run(SCRIPT, log)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"setup: full output in {log}"
    assert [line.split(":")[1].strip() for line in lines[1:-1]] == PHASES
    assert lines[-1].startswith("setup: ready")
    assert done.stderr == ""
    headers = [line.split(": ", 1)[1] for line in log.read_text().splitlines() if line.startswith("== ")]
    assert headers == PHASES


def test_a_failing_phase_is_named_with_the_tail_of_the_log(tmp_path: Path) -> None:
    # A checkout without requirements.txt: the requirements phase fails after two phases that pass.
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts" / "setup.sh")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to(sys.executable)
    log = tmp_path / "setup.log"
    done = _run(tmp_path / "scripts" / "setup.sh", log)
    assert done.returncode != 0
    assert [line.split(":")[1].strip() for line in done.stdout.splitlines()[1:]] == PHASES[:2]
    assert f"setup: python requirements failed (status 1); the last lines of {log}:" in done.stderr
    assert "requirements.txt: No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
