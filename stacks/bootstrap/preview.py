"""Offline preview of the account bootstrap: what ``pulumi up`` in bootstrap/ would create, without AWS.

    python -m stacks.bootstrap.preview --stack dev            # readable plan
    python -m stacks.bootstrap.preview --stack prod --json    # one JSON document
    python -m stacks.bootstrap.preview --stack dev --config-file edited.yaml

The bootstrap program runs under the offline engine as the language host runs it (a dry run). When
``nexus-bootstrap:runner.networkStack`` names a main stack (``organization/nexus/<stack>``), the offline
engine answers the program's StackReference with the outputs of that stack's own offline preview
(``Pulumi.<stack>.yaml`` at the repository's root), as the backend answers with the deployed stack's.
Exit status as ``python -m stacks.preview``: 0, 1 (config refused), 2 (engine refused), 3 (crash).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_DIR = ROOT / "bootstrap"
EXIT_OK, EXIT_CONFIG, EXIT_ENGINE, EXIT_CRASH = 0, 1, 2, 3
MAIN_PROJECT = "nexus"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.bootstrap.preview", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--stack", required=True, help="bootstrap stack (reads bootstrap/Pulumi.<stack>.yaml)"
    )
    parser.add_argument("--config-file", type=Path, help="read this stack file instead")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the plan")
    return parser.parse_args(argv)


def referenced_outputs(stack_file: Path) -> dict[str, Mapping[str, Any]]:
    """Outputs of the main stack that the bootstrap's runner reads, from that stack's offline preview."""
    import yaml

    from offline import run_stack_file

    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    runner = config.get("nexus-bootstrap:runner") or {}
    name = runner.get("networkStack") if isinstance(runner, dict) else None
    if not name or not isinstance(name, str) or not name.startswith(f"organization/{MAIN_PROJECT}/"):
        return {}
    main_file = ROOT / f"Pulumi.{name.rsplit('/', 1)[1]}.yaml"
    if not main_file.exists():
        return {}  # the engine then refuses the reference, naming the stack
    run = run_stack_file(main_file, project_dir=ROOT, dry_run=True)
    return {name: run.raw.outputs} if run.error is None else {}


def run_bootstrap(stack_file: Path, stack: str, *, dry_run: bool = True) -> Any:
    """The bootstrap's run for a stack file (StackRun)."""
    from offline import run_stack_file

    return run_stack_file(
        stack_file,
        project_dir=BOOTSTRAP_DIR,
        stack=stack,
        dry_run=dry_run,
        stack_outputs=referenced_outputs(stack_file),
    )


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the preview; returns the exit status."""
    from offline import EmulationError, ProjectError
    from stacks.preview import _counts, _tree, render_json

    args = _parse(argv)
    stack_file = args.config_file or BOOTSTRAP_DIR / f"Pulumi.{args.stack}.yaml"
    try:
        run = run_bootstrap(Path(stack_file), args.stack)
    except ProjectError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_CONFIG
    except EmulationError as exc:
        print(f"error: the offline engine refused the plan: {exc}", file=err)
        return EXIT_ENGINE
    except Exception:  # a bug: show it
        traceback.print_exc(file=err)
        return EXIT_CRASH
    if run.error is not None:
        print(f"error: {run.error}", file=err)
        return EXIT_CONFIG
    if args.json:
        out.write(render_json(run) + "\n")
        return EXIT_OK
    lines = [f"Offline preview of {run.project}/{run.stack} ({Path(stack_file).name}): no AWS call was made."]
    lines += ["", *_counts(run), "", "Component tree", *_tree(run)]
    placeholders = [e.message for e in run.raw.logs if e.message.startswith("placeholder: ")]
    if placeholders:
        lines += ["", "Placeholders (replace before pulumi up; docs/operations.md)"]
        lines += [f"  {line.removeprefix('placeholder: ')}" for line in placeholders]
        lines.append(
            f"  ({len(placeholders)} example values: a real `pulumi up` stops before creating anything)"
        )
    lines += ["", "Stack outputs"]
    lines += [f"  {name}: {value}" for name, value in sorted(run.masked_outputs.items())]
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
