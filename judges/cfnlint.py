"""Run cfn-lint (AWS's CloudFormation linter, in its venv ``.tools/cfn-lint``) over plans' templates.

cfn-lint checks every property against the CloudFormation registry schema of the stack's region (patterns,
enums, lengths, ranges, required properties) and adds cross-property rules. Results are cached by the hash
of the templates, the regions and the pinned cfn-lint version, so an unchanged plan is not linted twice.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .triage import Finding, strip_indices

PROJECT_DIR = Path(__file__).resolve().parent.parent
CFN_LINT = PROJECT_DIR / ".tools" / "cfn-lint" / "bin" / "cfn-lint"
REQUIREMENTS = PROJECT_DIR / "tests" / "cfn-lint-requirements.txt"
TRIAGE = Path(__file__).resolve().parent / "triage" / "cfn-lint.yaml"
CACHE_DIR = PROJECT_DIR / ".local" / "cache" / "cfn-lint"


class ToolMissingError(RuntimeError):
    """The judge's venv is missing (``make setup`` installs it)."""


def lint(templates: Mapping[str, tuple[dict[str, Any], str]], *, cache: bool = True) -> list[Finding]:
    """Findings of cfn-lint over ``{stack: (template, region)}``.

    Each template's result is cached under the hash of the template, its region and the pinned cfn-lint; the
    templates not in the cache are linted together, one cfn-lint process per region.
    """
    raw: dict[str, list[dict[str, Any]]] = {}
    todo: dict[str, dict[str, dict[str, Any]]] = {}
    for stack, (template, region) in templates.items():
        cached = _cache_file(template, region)
        if cache and cached.exists():
            raw[stack] = json.loads(cached.read_text())
        else:
            todo.setdefault(region, {})[stack] = template
    if todo and not CFN_LINT.exists():
        raise ToolMissingError(f"{CFN_LINT} is missing: `make setup` installs cfn-lint in its own venv")
    for region, stacks in sorted(todo.items()):
        matches = _run(stacks, region)
        for stack, template in stacks.items():
            raw[stack] = [match for match in matches if match["Stack"] == stack]
            if cache:
                cached = _cache_file(template, region)
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(raw[stack]))
    stacks_only = {stack: template for stack, (template, _) in templates.items()}
    return [_finding(match, stacks_only) for stack in templates for match in raw[stack]]


def _cache_file(template: dict[str, Any], region: str) -> Path:
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS.read_bytes() if REQUIREMENTS.exists() else b"")
    digest.update(region.encode())
    digest.update(json.dumps(template, sort_keys=True).encode())
    return CACHE_DIR / f"{digest.hexdigest()}.json"


def _run(stacks: Mapping[str, dict[str, Any]], region: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cfn-lint-") as tmp:
        files: list[str] = []
        for stack, template in stacks.items():
            path = Path(tmp, f"{stack}.json")
            path.write_text(json.dumps(template, indent=1))
            files.append(str(path))
        result = subprocess.run(  # noqa: S603  (a fixed tool path and our own files)
            [str(CFN_LINT), "--format", "json", "--regions", region, "--", *files],
            capture_output=True,
            text=True,
            check=False,
        )
    # Exit status is a bit mask of the levels found (2 errors, 4 warnings, 8 informational); 1 is a crash.
    if result.returncode & 1 or not result.stdout.strip():
        if result.returncode == 0:
            return []
        raise RuntimeError(f"cfn-lint failed ({result.returncode}): {result.stderr or result.stdout}")
    matches: list[dict[str, Any]] = json.loads(result.stdout)
    for match in matches:
        match["Stack"] = Path(str(match.get("Filename", ""))).stem
    return matches


def _finding(match: Mapping[str, Any], stacks: Mapping[str, dict[str, Any]]) -> Finding:
    stack = str(match["Stack"])
    path: Sequence[Any] = match.get("Location", {}).get("Path") or []
    resource = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
    body = stacks[stack]["Resources"].get(resource, {})
    prop_path = strip_indices(path[3:]) if len(path) > 3 and path[2] == "Properties" else ""
    return Finding(
        stack=stack,
        rule=str(match["Rule"]["Id"]),
        type=str(body.get("Type", "")),
        resource=resource,
        path=prop_path,
        message=str(match.get("Message", "")).replace("\n", " "),
        urn=str(body.get("Metadata", {}).get("PulumiUrn", "")),
    )
