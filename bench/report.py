"""Ratios, targets and the printed tables (pure functions of the measured figures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.parts import PartResult
from bench.wrk import LoadResult

CONFIGS = {
    "1x1": "1 instance, 1 worker",
    "1x2": "1 instance, 2 workers",
    "nginx": "nginx, 2 instances x 1 worker",
}
SCENARIOS = {
    "healthz": "GET /healthz",
    "cached": "GET /v1/documents/{id}, cached",
    "uncached": "GET /v1/documents/{id}, cache off",
    "list": "GET /v1/documents (replica)",
    "post": "POST /v1/documents",
}
WORKERS = {"1x1": 1, "1x2": 2}
# The peer (bench/textbook.py, 2 uvicorn workers) serves these scenarios; it is set against "1x2".
PEER_SCENARIOS = ("healthz", "cached", "uncached")


@dataclass(frozen=True)
class Pooling:
    connections: int
    result: LoadResult
    max_server_conns: dict[str, int]
    """Largest sampled count of the app role's backends, per shard primary."""
    cap: int
    """PgBouncer's server-connection cap for the app role per shard (default_pool_size)."""
    samples: int
    parts: tuple[tuple[str, LoadResult], ...] = ()
    """The load on each target, when it was split."""
    run_errors: tuple[int, ...] = ()
    """Errors of each consecutive run (the issue asks for 0 in three); empty: one run, `result`'s."""

    @property
    def errors_per_run(self) -> tuple[int, ...]:
        return self.run_errors or (self.result.errors,)


@dataclass(frozen=True)
class OffloadResult:
    result: LoadResult
    replica_scans: int
    primary_scans: int

    @property
    def share(self) -> float:
        total = self.replica_scans + self.primary_scans
        return self.replica_scans / total if total else 0.0


@dataclass(frozen=True)
class Ratio:
    name: str
    value: float
    target: str = ""
    passed: bool | None = None


def median_run(runs: Sequence[LoadResult]) -> LoadResult:
    """The run with the median throughput (its own latencies go with it)."""
    if not runs:
        raise ValueError("no runs")
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def safe_ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def ratios(
    matrix: dict[str, dict[str, LoadResult]],
    hello: dict[int, LoadResult],
    pgbench: PartResult,
    peer: dict[str, LoadResult],
) -> list[Ratio]:
    """Every ratio of the issue, with its target and verdict where the issue sets one. `peer` is the
    textbook app's median run per scenario (2 workers), measured in the same run."""
    out: list[Ratio] = []
    two = matrix["1x2"]
    for scenario in PEER_SCENARIOS:
        value = safe_ratio(two[scenario].rps, peer[scenario].rps)
        target = {"cached": 3.0, "uncached": 2.0}.get(scenario)
        out.append(
            Ratio(
                f"{SCENARIOS[scenario]} / textbook app (2 workers each)",
                value,
                f">= {target:.2f}" if target else "",
                value >= target if target else None,
            )
        )
        ours, theirs = two[scenario].cpu_us, peer[scenario].cpu_us
        if ours and theirs:
            out.append(Ratio(f"CPU per request: textbook / ours, {SCENARIOS[scenario]}", theirs / ours))
    p99, peer_p99 = two["cached"].p99_ms, peer["cached"].p99_ms
    out.append(
        Ratio(
            "cached GET p99 ms, 2 workers (textbook's in the target)",
            p99,
            f"<= {peer_p99:.2f} ms",
            p99 <= peer_p99,
        )
    )
    for cfg, workers in WORKERS.items():
        value = safe_ratio(matrix[cfg]["cached"].rps, hello[workers].rps)
        out.append(
            Ratio(
                f"cached GET / Starlette hello ({workers} worker(s))",
                value,
                ">= 0.50" if workers == 2 else "",
                value >= 0.5 if workers == 2 else None,
            )
        )
    for cfg, workers in WORKERS.items():
        cached_cpu, hello_cpu = matrix[cfg]["cached"].cpu_us, hello[workers].cpu_us
        if cached_cpu and hello_cpu:
            out.append(
                Ratio(f"CPU per request: hello / cached GET ({workers} worker(s))", hello_cpu / cached_cpu)
            )
    for cfg, label in CONFIGS.items():
        out.append(Ratio(f"cached GET p99 ms at 64 conns ({label})", matrix[cfg]["cached"].p99_ms))
        row = matrix[cfg]
        cached_share = safe_ratio(row["cached"].rps, row["healthz"].rps)
        out.append(Ratio(f"cached GET / healthz ({label})", cached_share))
    for cfg, workers in WORKERS.items():
        out.append(
            Ratio(
                f"uncached read / pgbench -S ({workers} worker(s))",
                safe_ratio(matrix[cfg]["uncached"].rps, pgbench.ops),
            )
        )
    for scenario, label in SCENARIOS.items():
        out.append(
            Ratio(
                f"2 workers / 1 worker: {label}",
                safe_ratio(matrix["1x2"][scenario].rps, matrix["1x1"][scenario].rps),
            )
        )
    for scenario, label in SCENARIOS.items():
        value = safe_ratio(matrix["nginx"][scenario].rps, matrix["1x2"][scenario].rps)
        out.append(Ratio(f"nginx 2x1 / 1 instance x2: {label}", value, ">= 0.90", value >= 0.9))
    return out


def target_rows(pooling: Pooling, offload: OffloadResult) -> list[Ratio]:
    peak = max(pooling.max_server_conns.values(), default=0)
    return [
        Ratio(
            f"{pooling.connections} clients: max Postgres server conns per primary (cap {pooling.cap})",
            float(peak),
            f"<= {pooling.cap}",
            peak <= pooling.cap,
        ),
        Ratio(
            f"{pooling.connections} clients: errors, worst of {len(pooling.errors_per_run)} consecutive runs "
            f"({', '.join(str(e) for e in pooling.errors_per_run)})",
            float(max(pooling.errors_per_run)),
            "== 0 in every run",
            max(pooling.errors_per_run) == 0,
        ),
        Ratio("read-heavy mix: share of reads on replicas", offload.share, ">= 0.95", offload.share >= 0.95),
    ]


def fmt_load(result: LoadResult) -> str:
    errors = f", {result.errors} errors ({result.status_errors} HTTP >= 400)" if result.errors else ""
    cpu = f"  cpu {result.cpu_us:5.0f} us/req" if result.cpu_us is not None else ""
    return f"{result.rps:9.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms{cpu}{errors}"


def fmt_ratio(r: Ratio) -> str:
    verdict = "" if r.passed is None else ("  PASS" if r.passed else "  MISS")
    target = f"  (target {r.target})" if r.target else ""
    return f"  {r.name:<72} {r.value:8.3f}{target}{verdict}"
