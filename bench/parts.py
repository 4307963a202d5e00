"""The limits of the parts: redis-benchmark GET and pgbench -S through PgBouncer, run and parsed."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from bench.wrk import BenchError

PG_BIN = "/usr/lib/postgresql/15/bin"
PGBENCH_TABLES = ("pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history")


@dataclass(frozen=True)
class PartResult:
    """Operations per second of a part, with the latency figures its tool prints (milliseconds)."""

    ops: float
    p50_ms: float | None
    p99_ms: float | None
    avg_ms: float | None
    failed: int = 0


def parse_redis_benchmark_csv(text: str) -> PartResult:
    """redis-benchmark --csv: a header line, then one quoted line per test (we run only GET)."""
    rows = [[cell.strip('"') for cell in line.split(",")] for line in text.strip().splitlines()]
    header = rows[0]
    for row in rows[1:]:
        if row and row[0] == "GET":
            cell = dict(zip(header, row, strict=True))
            return PartResult(
                ops=float(cell["rps"]),
                p50_ms=float(cell["p50_latency_ms"]),
                p99_ms=float(cell["p99_latency_ms"]),
                avg_ms=float(cell["avg_latency_ms"]),
            )
    raise BenchError(f"redis-benchmark printed no GET line:\n{text[-1000:]}")


_TPS_RE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_LAT_RE = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)
_FAILED_RE = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


def parse_pgbench(text: str) -> PartResult:
    tps = _TPS_RE.search(text)
    if tps is None:
        raise BenchError(f"pgbench printed no tps line:\n{text[-1000:]}")
    latency = _LAT_RE.search(text)
    failed = _FAILED_RE.search(text)
    return PartResult(
        ops=float(tps.group(1)),
        p50_ms=None,
        p99_ms=None,
        avg_ms=float(latency.group(1)) if latency else None,
        failed=int(failed.group(1)) if failed else 0,
    )


def _run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - fixed command lines of our own
        cmd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{cmd[0]} exited with {done.returncode}: {(done.stdout + done.stderr)[-800:]}")
    return done.stdout + done.stderr


def redis_get(port: int, *, connections: int, requests: int) -> PartResult:
    """redis-benchmark GET, no pipelining (one command per round trip, like the app's cache read)."""
    out = _run(
        [
            "redis-benchmark",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            str(connections),
            "-n",
            str(requests),
            "-t",
            "get",
            "--csv",
        ],
        timeout=120,
    )
    return parse_redis_benchmark_csv(out)


def pgbench_init(*, port: int, user: str, password: str, database: str) -> None:
    """pgbench's tables (scale 1) in the shard's database, created directly on the primary."""
    _run(
        [
            f"{PG_BIN}/pgbench",
            "-i",
            "-q",
            "-s",
            "1",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            database,
        ],
        timeout=120,
        env={"PGPASSWORD": password},
    )


def pgbench_select(
    *, port: int, user: str, password: str, database: str, connections: int, seconds: int
) -> PartResult:
    """pgbench -S (a primary-key SELECT per transaction) through PgBouncer at the given concurrency."""
    out = _run(
        [
            f"{PG_BIN}/pgbench",
            "-S",
            "-n",
            "-c",
            str(connections),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            database,
        ],
        timeout=seconds + 60,
        env={"PGPASSWORD": password},
    )
    return parse_pgbench(out)
