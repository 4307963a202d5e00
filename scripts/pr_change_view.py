"""The pull-request comment body for one stack: the change view against the base branch and the change in
monthly cost, as Markdown (docs/preview.md, "In a pull request").

    venv/bin/python scripts/pr_change_view.py --stack dev --base origin/main > comment.md

The base branch's tree is exported with ``git archive`` into a temporary directory (the repository and its
worktrees are left alone) and previewed there with ``--json``: the change view is then
``python -m stacks.preview --stack S --against-json BASE.json``, so that a change of the program shows as
well as a change of the stack file. The cost change prices the base branch's stack file with this branch's
program (``python -m stacks.cost --stack S --against BASE/Pulumi.S.yaml``). Exit status: the worst of the
commands' (stacks/errors.py), with their error lines in the comment, so that a refused stack file is
reported on the pull request too.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def _export(ref: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=PROJECT_DIR, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # Links are left out: the previews need files, and a link may point outside the tree.
        files = [member for member in tar.getmembers() if not (member.issym() or member.islnk())]
        tar.extractall(into, members=files, filter="data")


def _block(title: str, result: subprocess.CompletedProcess[str], *, open_: bool) -> list[str]:
    body = result.stdout if result.returncode == 0 else result.stdout + result.stderr
    return [
        f"<details{' open' if open_ else ''}><summary>{title}</summary>",
        "",
        "```text",
        body.rstrip(),
        "```",
        "</details>",
        "",
    ]


def comment(stack: str, base: str) -> tuple[str, int]:
    """The Markdown body and the exit status."""
    with tempfile.TemporaryDirectory(prefix="nexus-base-") as tmp:
        base_dir = Path(tmp) / "tree"
        base_dir.mkdir()
        _export(base, base_dir)
        base_json = Path(tmp) / "base.json"
        base_preview = _run(["-m", "stacks.preview", "--stack", stack, "--json"], cwd=base_dir)
        base_json.write_text(base_preview.stdout)
        lines = [f"### `{stack}`: what this pull request changes (against `{base}`)", ""]
        statuses = [base_preview.returncode]
        if base_preview.returncode != 0:
            lines += _block(
                f"the base branch's preview failed (status {base_preview.returncode})",
                base_preview,
                open_=True,
            )
        else:
            view = _run(
                ["-m", "stacks.preview", "--stack", stack, "--against-json", str(base_json)], PROJECT_DIR
            )
            statuses.append(view.returncode)
            lines += _block("Change view (stacks/changes.py)", view, open_=True)
        base_stack_file = base_dir / f"Pulumi.{stack}.yaml"
        if base_stack_file.is_file():
            cost = _run(
                ["-m", "stacks.cost", "--stack", stack, "--against", str(base_stack_file)], PROJECT_DIR
            )
            statuses.append(cost.returncode)
            lines += _block("Monthly cost and its change (docs/cost.md)", cost, open_=False)
        else:
            lines += [f"`Pulumi.{stack}.yaml` is new in this pull request: no cost change to show.", ""]
    return "\n".join(lines), max(statuses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--base", required=True, help="the base branch's ref, e.g. origin/main")
    args = parser.parse_args(argv)
    body, status = comment(args.stack, args.base)
    print(body)
    return status


if __name__ == "__main__":
    sys.exit(main())
