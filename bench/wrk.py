"""Running wrk with the project's Lua scripts and reading the line they print at the end."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
_MARKER = "BENCH "
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A load run or a part of the stack did not do what the benchmark needs."""


@dataclass(frozen=True)
class LoadResult:
    """One fixed-duration load run: throughput, latency percentiles, errors."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    """Socket errors (connect, read, write, timeout) plus responses with status >= 400."""
    status_errors: int = 0
    """Of ``errors``, the responses with status >= 400 (the rest are socket errors and timeouts)."""
    cpu_us: float | None = None
    """CPU time (user + system) the server processes spent per request, in microseconds: unlike req/s,
    it hardly depends on how busy the rest of the machine is."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def parse_wrk_output(text: str) -> LoadResult:
    """The result from wrk's output, which must hold the line printed by lua/report.lua."""
    for line in text.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return LoadResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                errors=errors,
                status_errors=data["status"],
            )
    raise BenchError(f"wrk printed no result line; its output was:\n{text[-2000:]}")


def process_tree(roots: list[int]) -> list[int]:
    """The pids and every live descendant (uvicorn's worker processes, nginx's workers)."""
    found: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo += [int(child) for child in children]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes so far (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    script: str = "request.lua",
    env: dict[str, str] | None = None,
    server_pids: list[int] | None = None,
) -> LoadResult:
    """Load ``url`` for ``seconds`` with ``connections`` kept-alive connections; bounded by a timeout.

    With ``server_pids``, the result carries the CPU time those processes (and their children) spent per
    request."""
    pids = process_tree(server_pids or [])
    cpu_before = cpu_seconds(pids)
    cmd = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    child_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **(env or {})}
    done = subprocess.run(  # noqa: S603 - a fixed command line of our own
        cmd, env=child_env, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    result = parse_wrk_output(done.stdout)
    if pids and result.requests:
        spent = cpu_seconds(pids) - cpu_before
        result = replace(result, cpu_us=spent * 1e6 / result.requests)
    return result
