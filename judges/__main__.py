"""The outside judges over the offline plan of every stack.

    python -m judges template --stack dev        # the stack's plan as a CloudFormation template (stdout)
    python -m judges template --stack bootstrap-dev  # the account bootstrap's (bootstrap/Pulumi.dev.yaml)
    python -m judges tfplan --stack dev          # the stack's plan as a Terraform plan JSON (stdout)
    python -m judges cfn-lint [--stack dev ...]  # cfn-lint over every stack (or those named), with the triage
    python -m judges checkov [--stack dev ...]   # checkov's terraform_plan checks, with the triage

The coverage of the conversion goes to stderr. ``cfn-lint`` and ``checkov`` print each finding that the
triage does not accept, each stale triage entry, then the counts; they exit 1 when anything is untriaged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from .plan import Plan, judged_stacks, load_judged_plan
from .triage import Finding, Verdict, judge, load_triage

PROJECT_DIR = Path(__file__).resolve().parent.parent


def stacks_of(names: Sequence[str] | None) -> list[str]:
    """The named stacks, or every ``Pulumi.<stack>.yaml`` of the project and, as ``bootstrap-<stack>``, of
    the account bootstrap (bootstrap/)."""
    if names:
        return list(names)
    return judged_stacks(PROJECT_DIR)


def report(judge_name: str, findings: list[Finding], verdict: Verdict, out: TextIO) -> None:
    """Print what the triage does not accept, then the counts (last, so that a CI log ends with them)."""
    for finding in verdict.new:
        out.write(f"NEW {finding.describe()}\n")
    for entry in verdict.unused:
        out.write(f"STALE triage entry (matches nothing): {entry.rule} {entry.type} {entry.path}\n")
    stacks = sorted({finding.stack for finding in findings})
    per_stack = (
        ", ".join(f"{stack}: {sum(1 for f in findings if f.stack == stack)}" for stack in stacks) or "none"
    )
    out.write(
        f"{judge_name}: {len(findings)} findings ({per_stack}); {len(verdict.accepted)} triaged, "
        f"{len(verdict.new)} new, {len(verdict.unused)} stale triage entries\n"
    )


@cache
def _plan(stack: str) -> Plan:
    """A stack's plan (runs are deterministic: one per process is enough for both judges)."""
    return load_judged_plan(stack, PROJECT_DIR)


def _plans(stacks: Sequence[str]) -> dict[str, Plan]:
    return {stack: _plan(stack) for stack in stacks}


def run_cfn_lint(stacks: Sequence[str], out: TextIO, err: TextIO) -> int:
    """``make cfn-lint``."""
    from .cfnlint import TRIAGE, lint
    from .cloudformation import Coverage, to_template

    coverage = Coverage()
    templates: dict[str, tuple[dict[str, Any], str]] = {}
    for stack, plan in _plans(stacks).items():
        template, stack_coverage = to_template(plan)
        coverage.merge(stack_coverage)
        templates[stack] = (template, plan.region)
    err.write(coverage.line("CloudFormation") + "\n")
    for gap in coverage.unmapped:
        out.write(f"UNMAPPED {gap}\n")
    findings = lint(templates)
    verdict = judge(findings, load_triage(TRIAGE), judged=stacks)
    report("cfn-lint", findings, verdict, out)
    return 0 if verdict.ok and not coverage.unmapped else 1


def run_checkov(stacks: Sequence[str], out: TextIO, err: TextIO) -> int:
    """``python -m judges checkov``."""
    from .checkov import TRIAGE, scan
    from .terraform import to_plan_json

    plans: dict[str, dict[str, Any]] = {}
    unmapped: list[str] = []
    for stack, plan in _plans(stacks).items():
        document, gaps = to_plan_json(plan)
        plans[stack] = document
        unmapped += gaps
    for gap in unmapped:
        out.write(f"UNMAPPED {gap}\n")
    findings = scan(plans)
    verdict = judge(findings, load_triage(TRIAGE), judged=stacks)
    report("checkov", findings, verdict, out)
    return 0 if verdict.ok and not unmapped else 1


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m judges", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("template", "tfplan"):
        one = sub.add_parser(name)
        one.add_argument("--stack", required=True)
    for name in ("cfn-lint", "checkov"):
        many = sub.add_parser(name)
        many.add_argument("--stack", action="append", help="a stack (repeatable); default: every stack")
    args = parser.parse_args(argv)
    if args.command == "template":
        from .cloudformation import to_template

        template, coverage = to_template(load_judged_plan(args.stack, PROJECT_DIR))
        out.write(json.dumps(template, indent=2) + "\n")
        err.write(coverage.line("CloudFormation") + "\n")
        return 0 if not coverage.unmapped else 1
    if args.command == "tfplan":
        from .terraform import to_plan_json

        document, gaps = to_plan_json(load_judged_plan(args.stack, PROJECT_DIR))
        out.write(json.dumps(document, indent=2) + "\n")
        for gap in gaps:
            err.write(f"UNMAPPED {gap}\n")
        return 0 if not gaps else 1
    runner: Callable[[Sequence[str], TextIO, TextIO], int] = (
        run_cfn_lint if args.command == "cfn-lint" else run_checkov
    )
    return runner(stacks_of(args.stack), out, err)


if __name__ == "__main__":
    sys.exit(main())
