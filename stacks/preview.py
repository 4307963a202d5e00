"""Offline preview: what ``pulumi up`` would create for a stack, without AWS credentials or the Pulumi CLI.

    python -m stacks.preview --stack prod                 # readable plan
    python -m stacks.preview --stack prod --json          # one JSON document (docs/preview.md)
    python -m stacks.preview --stack ci --config-file path/to/Pulumi.ci.yaml
    python -m stacks.preview --stack dev --config-file edited.yaml --against Pulumi.dev.yaml   # change view
    python -m stacks.preview --stack dev --against-json base.json                  # change view vs a --json

The program runs in-process under the offline engine (offline), exactly as the language host runs it.
Exit status: 0 on success, 1 when the Pulumi CLI's checks of Pulumi.yaml and the stack file or the program
refuse the stack config (the problems are printed, one per line, without a traceback), 2 when the offline
engine refuses the plan (e.g. duplicate URN, unmocked invoke), 3 when the program crashes (a bug: the
traceback is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from stacks.errors import EXIT_BUG as EXIT_CRASH
from stacks.errors import (
    EXIT_CONFIG,
    EXIT_ENGINE,
    EXIT_OK,
    ArgumentParser,
    guarded,
    print_bug,
    print_problems,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent

__all__ = ["EXIT_CONFIG", "EXIT_CRASH", "EXIT_ENGINE", "EXIT_OK", "PROJECT_DIR", "main"]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m stacks.preview", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument(
        "--config-file", type=Path, help="read this stack file instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the plan")
    against = parser.add_mutually_exclusive_group()
    against.add_argument(
        "--against", type=Path, help="print the change view from this stack file's preview (the base config)"
    )
    against.add_argument(
        "--against-json", type=Path, help="print the change view from this saved --json document"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the preview; returns the exit status."""
    args = _parse(argv)
    stack_file = args.config_file or PROJECT_DIR / f"Pulumi.{args.stack}.yaml"
    base: dict[str, Any] | None = None
    if args.against_json is not None:  # read first: a wrong file is refused before any run
        try:
            base = json.loads(Path(args.against_json).read_text())
        except (OSError, ValueError) as exc:
            return print_problems([f"--against-json {args.against_json}: {exc}"], err)
        if not isinstance(base, dict) or not isinstance(base.get("resources"), list):
            return print_problems([f"--against-json {args.against_json}: not a preview --json document"], err)
    run = run_or_status(stack_file, args.stack, err)
    if isinstance(run, int):
        return run
    base_run: Any = None
    if args.against is not None:
        base_run = run_or_status(args.against, args.stack, err)
        if isinstance(base_run, int):
            return base_run
        base = document(base_run)
    if base is None:
        out.write((render_json(run) if args.json else render_text(run, stack_file)) + "\n")
        return EXIT_OK
    from stacks.changes import compare, preview_steps, render

    current = document(run)
    changes = compare(base, current)
    refusals = _tenant_move_refusals(base, current, stack_file)
    changes = dataclasses.replace(changes, refusals=tuple(refusals))
    if args.json:
        current |= {"steps": preview_steps(changes), "changeSummary": changes.summary()}
        out.write(json.dumps(current, indent=2, sort_keys=True) + "\n")
    else:
        against = args.against or args.against_json
        edited = Path(stack_file).name
        if against is not None and Path(against).name == edited:
            edited = str(stack_file)  # an edited copy with the same name: say which file is which
        title = f"Change view of {run.project}/{run.stack}: {edited} against {against}"
        lines = [title, "", *render(changes)]
        if args.against is not None:
            lines += [
                "",
                "Monthly cost change (docs/cost.md)",
                *_cost_change(base_run, args.against, run, stack_file),
            ]
        out.write("\n".join(lines) + "\n")
    for refusal in refusals:
        print(f"error: {refusal}", file=err)
    return EXIT_CONFIG if refusals else EXIT_OK


def _tenant_move_refusals(base: dict[str, Any], current: dict[str, Any], stack_file: Path) -> list[str]:
    """policy/tenancy.py over the two tenant maps and the new stack file's nexus:tenantMoves."""
    from policy.tenancy import tenant_move_refusals
    from stacks.changes import tenant_placements
    from stacks.config import load_stack_file

    config = load_stack_file(stack_file)
    acknowledged = {t: (m.source, m.target) for t, m in config.tenant_moves.items()}
    return tenant_move_refusals(
        tenant_placements(base), tenant_placements(current), acknowledged, prod=config.is_prod
    )


def _cost_change(base_run: Any, base_file: Path, run: Any, stack_file: Path) -> list[str]:
    """The change in monthly cost between two runs of stack files (stacks/cost.py)."""
    from stacks.config import load_stack_file
    from stacks.cost import delta_lines, estimate

    base_config = load_stack_file(base_file, stack=base_run.stack)
    config = load_stack_file(stack_file, stack=run.stack)
    shard_ids = sorted(set(config.shards) | set(base_config.shards))
    return delta_lines(estimate(base_run, base_config.region), estimate(run, config.region), shard_ids)


def run_or_status(stack_file: Path, stack: str, err: TextIO) -> Any:
    """The stack's run, or the exit status after printing why there is none."""
    from offline import EmulationError, ProgramCrashError, ProjectError, run_stack_file

    if not Path(stack_file).is_file():
        return print_problems([f"stack file {stack_file} not found"], err)
    try:
        run = run_stack_file(stack_file, project_dir=PROJECT_DIR, stack=stack, dry_run=True)
    except ProjectError as exc:  # what the Pulumi CLI refuses in Pulumi.yaml or the stack's config
        return print_problems([str(exc)], err)
    except EmulationError as exc:
        print_problems([str(exc)], err)
        return EXIT_ENGINE
    except ProgramCrashError as exc:
        return print_bug(exc.__cause__ or exc, err, what="the program")
    if run.error is not None:
        return print_problems([str(run.error)], err)
    return run


def render_json(run: Any) -> str:
    """The JSON document: resources sorted by URN with masked inputs, and masked exports."""
    return json.dumps(document(run), indent=2, sort_keys=True)


def document(run: Any, *, masked: bool = True) -> dict[str, Any]:
    """The JSON document as a dict (what ``--json`` prints). ``masked=False`` keeps secret values (for tests
    that must see a changed secret; never printed)."""
    from offline.values import mask_secrets, normalize_numbers

    def mask(value: Any) -> Any:
        return mask_secrets(value) if masked else value

    return {
        "project": run.project,
        "stack": run.stack,
        "resources": [
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                # The root Stack is not listed, so a top-level resource's parent is null rather than a URN
                # that the document does not contain.
                "parent": None if resource.parent == run.raw.stack_urn else resource.parent,
                "protect": bool(resource.protect),
                # What the engine orders this resource after (RegisterResource's ``dependencies``: explicit
                # depends_on, a component standing for its children, and the resources its inputs came from).
                "dependencies": sorted(resource.dependencies),
                # The ignoreChanges option: input paths whose changes pulumi up does not apply (the change
                # view leaves them out, as the engine's diff does).
                "ignoreChanges": sorted(resource.ignore_changes),
                "inputs": normalize_numbers(mask(dict(resource.record.inputs))),
            }
            for resource in sorted(run.resources, key=lambda resource: resource.urn)
        ],
        "outputs": run.masked_outputs if masked else normalize_numbers(dict(run.raw.outputs)),
    }


def render_text(run: Any, stack_file: Path) -> str:
    """The readable plan."""
    from stacks.config import load_stack_file
    from stacks.preview_sections import SECTIONS

    lines = [f"Offline preview of {run.project}/{run.stack} ({Path(stack_file).name}): no AWS call was made;"]
    lines.append("values AWS computes (ids, ARNs, endpoints, generated names) are emulated.")
    lines += ["", *_counts(run), "", "Component tree", *_tree(run)]
    config = load_stack_file(stack_file, stack=run.stack)
    for section in SECTIONS:
        body = section.body(config, run)
        if body:
            lines += ["", section.title, *(f"  {line}" for line in body)]
    diagnostics = [entry for entry in run.raw.logs if entry.severity in ("warning", "error")]
    if diagnostics:
        lines += ["", "Diagnostics (what pulumi up would print as warnings or errors)"]
        lines += [f"  {entry.severity}: {entry.urn or 'stack'}: {entry.message}" for entry in diagnostics]
    lines += ["", "Stack outputs (secrets masked)"]
    for name, value in sorted(run.masked_outputs.items()):
        lines += output_lines(name, value)
    return "\n".join(lines)


def output_lines(name: str, value: Any) -> list[str]:
    """One stack output for the text view. A string holding a JSON document (an IAM policy: AWS takes policy
    documents as JSON strings) is shown parsed and indented, in its own key order, instead of as one line of
    escaped quotes; ``--json`` keeps the string as it is."""
    parsed = _json_document(value)
    if parsed is not None:
        body = json.dumps(parsed, indent=2).replace("\n", "\n    ")
        return [f"  {name}: (a JSON string, shown parsed)", f"    {body}"]
    rendered = json.dumps(value, indent=2, sort_keys=True).replace("\n", "\n    ")
    return [f"  {name}: {rendered}"]


def _json_document(value: Any) -> dict[str, Any] | list[Any] | None:
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _counts(run: Any) -> list[str]:
    counts = run.type_counts()
    custom = sum(
        1 for resource in run.resources if resource.record.custom and not resource.record.is_provider
    )
    components = sum(1 for resource in run.resources if resource.record.is_component)
    providers = sum(1 for resource in run.resources if resource.record.is_provider)
    lines = [
        f"Resources to create: {len(run.resources)} ({custom} cloud, {components} components, "
        f"{providers} providers)"
    ]
    width = max(len(str(count)) for count in counts.values()) if counts else 1
    lines += [
        f"  {count:>{width}}  {type_}"
        for type_, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return lines


def _tree(run: Any) -> list[str]:
    children: dict[str | None, list[Any]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    lines = [f"  pulumi:pulumi:Stack {run.project}-{run.stack}"]

    def walk(urn: str | None, indent: str) -> None:
        kids = sorted(
            children.get(urn, []), key=lambda r: (not r.record.is_provider, r.record.custom, r.type, r.name)
        )
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            flags = [
                flag
                for flag, on in (
                    ("protect", resource.protect),
                    (f"ignore {','.join(resource.ignore_changes)}", resource.ignore_changes),
                )
                if on
            ]
            suffix = f"  [{'; '.join(flags)}]" if flags else ""
            lines.append(f"  {indent}{'└─ ' if last else '├─ '}{resource.type} {resource.name}{suffix}")
            walk(resource.urn, indent + ("   " if last else "│  "))

    walk(run.raw.stack_urn, "")
    return lines


if __name__ == "__main__":
    # A one-shot process: collecting cycles while ~190 MB of SDK objects are built, and freeing them all at
    # interpreter exit, costs about half of a cold preview's CPU and changes nothing in what is printed.
    gc.disable()
    status = guarded(main)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
