"""What the figures were measured on: CPU, memory, kernel, load, and the versions that matter."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("starlette", "uvicorn", "uvloop", "httptools", "msgspec", "asyncpg", "redis", "hiredis", "PyJWT")
_TOOLS = {
    "postgres": ["/usr/lib/postgresql/15/bin/postgres", "--version"],
    "pgbouncer": ["pgbouncer", "--version"],
    "redis-server": ["redis-server", "--version"],
    "nginx": ["nginx", "-v"],
    "wrk": ["wrk", "-v"],
}


def cpu_model() -> str:
    text = Path("/proc/cpuinfo").read_text()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def memory_gib() -> float:
    match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024 / 1024 if match else 0.0


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def _tool_version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except OSError:
        return "missing"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def describe() -> list[tuple[str, str]]:
    """(label, value) lines for the report header."""
    lines = [
        ("cpu", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("memory", f"{memory_gib():.1f} GiB"),
        ("kernel", platform.release()),
        ("python", platform.python_version()),
        ("load average", "{:.2f} {:.2f} {:.2f} (1/5/15 min, at start)".format(*load_average())),
    ]
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    lines.append(("packages", ", ".join(versions)))
    for name, cmd in _TOOLS.items():
        lines.append((name, _tool_version(cmd)))
    return lines
