"""One error printer and one exit-code table (stacks/errors.py) for the preview, the cost estimate, the
config reference and the local run; type errors that say how to fix them (stacks/config/loader.py)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config import ConfigError
from stacks.errors import EXIT_BUG, EXIT_CODES, EXIT_CONFIG, EXIT_INTERRUPTED, guarded
from stacks.preview import main as preview
from tests.support.harness import PROJECT_DIR

DEV = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()


def test_docs_preview_md_lists_exactly_the_shared_exit_codes() -> None:
    text = (PROJECT_DIR / "docs" / "preview.md").read_text()
    table = text[text.index("| Exit status | Meaning | Output |") :].split("\n\n")[0]
    assert [int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)] == sorted(EXIT_CODES)


def test_a_crash_is_a_bug_with_a_traceback_and_status_3() -> None:
    def crash() -> int:
        raise RuntimeError("boom")

    err = io.StringIO()
    assert guarded(crash, err=err) == EXIT_BUG
    assert err.getvalue().startswith("error: the command crashed; this is a bug")
    assert "Traceback" in err.getvalue()
    assert "RuntimeError: boom" in err.getvalue()


def test_a_config_error_that_escapes_is_one_line_per_problem_and_status_1() -> None:
    def refuse() -> int:
        raise ConfigError(["nexus:a: bad", "nexus:b: worse"])

    err = io.StringIO()
    assert guarded(refuse, err=err) == EXIT_CONFIG
    assert err.getvalue().splitlines() == ["error: nexus:a: bad", "error: nexus:b: worse"]


def test_ctrl_c_is_status_130() -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert guarded(interrupted, err=io.StringIO()) == EXIT_INTERRUPTED


@pytest.mark.parametrize(
    "command",
    [
        ["stacks.preview", "--stack"],
        ["stacks.preview", "--stack", "dev", "--no-such-flag"],
        ["stacks.cost", "--no-such-flag"],
        ["stacks.config.docs", "--no-such-flag"],
        ["stacks.config.docs", "nexus:nosuch"],
    ],
    ids=lambda command: " ".join(command),
)
def test_a_bad_command_line_is_status_1_without_a_traceback(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "    instanceClass: db.t4g.medium\n",
            "    instanceClass: db.t4g.medium\n    engineVersion: 16\n",
            "nexus:shardDefaults.engineVersion: Input should be a valid string; got 16; quote it: "
            'engineVersion: "16"',
            id="number for a string",
        ),
        pytest.param(
            '    version: "1.34"',
            "    version: 1.30",
            'nexus:cluster.version: Input should be a valid string; got 1.3; quote it: version: "1.3"; '
            "unquoted, a number loses its trailing zeros (1.30 reads as 1.3)",
            id="a version read as a number",
        ),
        pytest.param(
            "nexus:defaultShard: shard-b",
            "nexus:defaultShard: 5",
            'nexus:defaultShard: expected a shard id, got int 5; quote it: nexus:defaultShard: "5" (or: '
            "pulumi config set --type string nexus:defaultShard 5)",
            id="top-level key",
        ),
        pytest.param(
            "    flowLogs: false",
            "    flowLogs: yes",
            'nexus:network.flowLogs: Input should be a valid boolean; got "yes"; write true or false '
            "(YAML 1.2, which the Pulumi CLI reads, keeps yes a string)",
            id="yes for a boolean",
        ),
        pytest.param(
            "        maxSize: 2",
            '        maxSize: "2"',
            'nexus:cluster.nodeGroups.general.maxSize: Input should be a valid integer; got "2"; unquote it: '
            "maxSize: 2",
            id="quoted number",
        ),
    ],
)
def test_a_wrong_type_says_how_to_fix_it(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in DEV
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(DEV.replace(old, new, 1))
    err = io.StringIO()
    assert preview(["--stack", "dev", "--config-file", str(path)], out=io.StringIO(), err=err) == EXIT_CONFIG
    assert [line.strip() for line in err.getvalue().splitlines()] == [
        "error: invalid stack config:",
        expected,
    ]
