"""Run checkov's terraform_plan checks (in its own venv ``.tools/checkov``, offline) over plans as Terraform.

One checkov process judges every stack's plan file at once; each plan's result is cached under the hash of
the document and the pinned checkov, so an unchanged plan is not scanned twice.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .triage import Finding

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHECKOV = PROJECT_DIR / ".tools" / "checkov" / "bin" / "checkov"
REQUIREMENTS = PROJECT_DIR / "tests" / "tools-requirements.txt"
TRIAGE = Path(__file__).resolve().parent / "triage" / "checkov.yaml"
CACHE_DIR = PROJECT_DIR / ".local" / "cache" / "checkov"


class ToolMissingError(RuntimeError):
    """checkov's venv is missing (``make setup`` installs it)."""


def _cache_file(document: dict[str, Any]) -> Path:
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS.read_bytes() if REQUIREMENTS.exists() else b"")
    digest.update(json.dumps(document, sort_keys=True).encode())
    return CACHE_DIR / f"{digest.hexdigest()}.json"


def scan(plans: Mapping[str, dict[str, Any]], *, cache: bool = True) -> list[Finding]:
    """Failed checks of checkov over ``{stack: terraform plan document}``."""
    failed: dict[str, list[dict[str, Any]]] = {}
    todo: dict[str, dict[str, Any]] = {}
    for stack, document in plans.items():
        cached = _cache_file(document)
        if cache and cached.exists():
            failed[stack] = json.loads(cached.read_text())
        else:
            todo[stack] = document
    if todo:
        if not CHECKOV.exists():
            raise ToolMissingError(f"{CHECKOV} is missing: `make setup` installs checkov in its own venv")
        results = _run(todo)
        for stack, document in todo.items():
            failed[stack] = results.get(stack, [])
            if cache:
                cached = _cache_file(document)
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(failed[stack]))
    return [
        Finding(
            stack=stack,
            rule=str(check["check_id"]),
            type=str(check["resource"]).split(".")[0],
            resource=str(check["resource"]),
            path="",
            message=str(check.get("check_name", "")),
        )
        for stack in plans
        for check in failed[stack]
    ]


def _run(plans: Mapping[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        args: list[str] = []
        for stack, document in plans.items():
            path = Path(tmp, f"{stack}.json")
            path.write_text(json.dumps(document))
            args += ["-f", str(path)]
        result = subprocess.run(  # noqa: S603  (a fixed tool path and our own files)
            [
                str(CHECKOV),
                *args,
                "--framework",
                "terraform_plan",
                "--skip-download",
                "--output",
                "json",
                "--quiet",
                "--compact",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
        )
    # Exit status 1 means "failed checks"; anything else than 0 or 1 is a crash.
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr or result.stdout}")
    reports = json.loads(result.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    failed: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            stack = Path(str(check.get("file_path", ""))).stem
            failed.setdefault(stack, []).append(
                {key: check.get(key) for key in ("check_id", "check_name", "resource", "file_path")}
            )
    return failed
