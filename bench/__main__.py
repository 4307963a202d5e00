"""`python -m bench` (`make bench`): see docs/benchmarks.md.

Progress goes to stderr; the report (machine, tables, ratios last) to stdout.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import machine, parts, probes
from bench.fleet import Fleet
from bench.report import (
    CONFIGS,
    PEER_SCENARIOS,
    SCENARIOS,
    OffloadResult,
    Pooling,
    fmt_load,
    fmt_ratio,
    median_run,
    ratios,
    target_rows,
)
from bench.wrk import LoadResult, run_wrk
from devstack.postgres import APP_ROLE, SUPERUSER

REPO_ROOT = Path(__file__).resolve().parent.parent
# Which target serves each (configuration, scenario): the uncached read goes to the cache-off twins.
TARGETS = {
    "1x1": {"on": "one-1w", "off": "off-1w"},
    "1x2": {"on": "one-2w", "off": "off-2w"},
    "nginx": {"on": "nginx", "off": "off-nginx"},
}
# Pending table statistics of an idle Postgres backend are flushed within 10 s (PGSTAT_IDLE_INTERVAL).
STATS_SETTLE_SECONDS = 11.0
SEED_DOCUMENTS = 50
POST_BODY = '{"title": "bench", "body": "' + "y" * 200 + '"}'


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "app", "bench")
    return head + (" (with uncommitted changes in app/ or bench/)" if dirty else "")


def scenario_load(fleet: Fleet, cfg: str, scenario: str) -> tuple[str, dict[str, str], list[int]]:
    """URL, wrk environment and server pids of one scenario on one configuration."""
    name = TARGETS[cfg]["off" if scenario == "uncached" else "on"]
    url, env = _scenario_request(fleet, fleet.urls[name], scenario)
    return url, env, fleet.roots[name]


def peer_load(fleet: Fleet, scenario: str) -> tuple[str, dict[str, str], list[int]]:
    """The same request on the textbook peer (its cache-off twin for the uncached read)."""
    name = "textbook-off" if scenario == "uncached" else "textbook"
    url, env = _scenario_request(fleet, fleet.urls[name], scenario)
    return url, env, fleet.roots[name]


def _scenario_request(fleet: Fleet, target: str, scenario: str) -> tuple[str, dict[str, str]]:
    token = {"BENCH_TOKEN": fleet.token}
    doc = f"/v1/documents/{fleet.doc_ids[0]}"
    return {
        "healthz": (target + "/healthz", {}),
        "cached": (target + doc, token),
        "uncached": (target + doc, token),
        "list": (target + "/v1/documents?limit=20", token),
        "post": (
            target + "/v1/documents",
            {**token, "BENCH_METHOD": "POST", "BENCH_BODY": POST_BODY},
        ),
    }[scenario]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="duration of each load run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario (the median is kept)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool-connections", type=int, default=500, help="clients of the pooling load")
    parser.add_argument("--pool-runs", type=int, default=3, help="consecutive runs of the pooling load")
    args = parser.parse_args(argv)
    began = time.monotonic()

    print("# NexusAPI benchmark")
    print(f"commit: {commit()}")
    for label, value in machine.describe():
        print(f"{label}: {value}")
    print(
        f"load runs: wrk, {args.connections} connections, 2 threads, {args.seconds} s each, "
        f"median of {args.repeats}; load generator on the same machine"
    )
    sys.stdout.flush()

    fleet = Fleet.start(progress)
    try:
        _run(fleet, args)
    finally:
        fleet.stop()
    print(
        f"\ntotal time {time.monotonic() - began:.0f} s; load average at the end "
        "{:.2f} {:.2f} {:.2f}".format(*machine.load_average())
    )
    return 0


def _run(fleet: Fleet, args: argparse.Namespace) -> None:
    stack = fleet.stack
    conns, secs = args.connections, args.seconds
    fleet.seed(SEED_DOCUMENTS)
    secrets = stack.secrets
    primary_port = stack.ports.primary("shard-a")
    # The app role may create nothing (least privilege): the superuser makes pgbench's tables, and the app
    # role gets to read them, as pgbench -S does through PgBouncer.
    database = stack.topology.shard("shard-a").database
    parts.pgbench_init(
        port=primary_port, user=SUPERUSER, password=secrets.superuser_password, database=database
    )
    stack.psql("shard-a", f"GRANT SELECT ON {', '.join(parts.PGBENCH_TABLES)} TO {APP_ROLE}")

    load: Callable[..., LoadResult] = run_wrk
    progress("warming up every target (pools, token cache)")
    for cfg in CONFIGS:
        for scenario in ("cached", "uncached", "list"):
            url, env, _ = scenario_load(fleet, cfg, scenario)
            load(url, seconds=1, connections=conns, env=env)
    for name in ("hello-1w", "hello-2w"):
        load(fleet.urls[name] + "/", seconds=1, connections=conns)
    for scenario in PEER_SCENARIOS:
        url, env, _ = peer_load(fleet, scenario)
        load(url, seconds=1, connections=conns, env=env)

    runs: dict[tuple[str, str], list[LoadResult]] = {}
    hello_runs: dict[int, list[LoadResult]] = {1: [], 2: []}
    peer_runs: dict[str, list[LoadResult]] = {s: [] for s in PEER_SCENARIOS}
    for rep in range(args.repeats):
        # Round-robin over repeats: a burst of load from elsewhere on the machine hits one run of each.
        for cfg in CONFIGS:
            for scenario in SCENARIOS:
                url, env, pids = scenario_load(fleet, cfg, scenario)
                result = load(url, seconds=secs, connections=conns, env=env, server_pids=pids)
                runs.setdefault((cfg, scenario), []).append(result)
                progress(f"[{rep + 1}/{args.repeats}] {cfg:<5} {scenario:<8} {fmt_load(result)}")
        for workers in (1, 2):
            name = f"hello-{workers}w"
            result = load(
                fleet.urls[name] + "/", seconds=secs, connections=conns, server_pids=fleet.roots[name]
            )
            hello_runs[workers].append(result)
            progress(f"[{rep + 1}/{args.repeats}] hello {workers}w       {fmt_load(result)}")
        for scenario in PEER_SCENARIOS:
            url, env, pids = peer_load(fleet, scenario)
            result = load(url, seconds=secs, connections=conns, env=env, server_pids=pids)
            peer_runs[scenario].append(result)
            progress(f"[{rep + 1}/{args.repeats}] peer  {scenario:<8} {fmt_load(result)}")
    matrix = {cfg: {s: median_run(runs[(cfg, s)]) for s in SCENARIOS} for cfg in CONFIGS}
    hello = {w: median_run(r) for w, r in hello_runs.items()}
    peer = {s: median_run(r) for s, r in peer_runs.items()}

    progress("redis-benchmark GET")
    redis = parts.redis_get(stack.ports.redis, connections=conns, requests=200_000)
    progress("pgbench -S through PgBouncer")
    pgbench = parts.pgbench_select(
        port=stack.ports.pgbouncer,
        user="nexus_app",
        password=secrets.app_password,
        database=stack.topology.shard("shard-a").alias,
        connections=conns,
        seconds=secs,
    )
    offload = _offload(fleet, conns, secs)
    pooling = _pooling(fleet, args.pool_connections, secs, args.pool_runs)

    print("\n## Scenarios (median run)")
    for cfg, label in CONFIGS.items():
        print(f"\n{label}")
        for scenario, s_label in SCENARIOS.items():
            print(f"  {s_label:<36} {fmt_load(matrix[cfg][scenario])}")
    print("\n## The peer: textbook FastAPI app (bench/textbook.py, uvicorn, 2 workers) and ours (2 workers)")
    for scenario in PEER_SCENARIOS:
        label = SCENARIOS[scenario]
        print(f"  {'textbook ' + label:<48} {fmt_load(peer[scenario])}")
        print(f"  {'ours     ' + label:<48} {fmt_load(matrix['1x2'][scenario])}")
    print("\n## Yardstick and parts")
    for workers, result in hello.items():
        print(f"  {'Starlette hello, ' + str(workers) + ' worker(s)':<36} {fmt_load(result)}")
    print(
        f"  {'redis-benchmark GET':<36} {redis.ops:9.0f} ops/s  p50 {redis.p50_ms:6.2f} ms  "
        f"p99 {redis.p99_ms:7.2f} ms"
    )
    print(
        f"  {'pgbench -S via PgBouncer':<36} {pgbench.ops:9.0f} tps    avg {pgbench.avg_ms:6.2f} ms"
        f"  failed {pgbench.failed}"
    )
    print("\n## Pooling")
    print(
        f"  {pooling.connections} clients, uncached reads, cache-off targets, {len(pooling.errors_per_run)} "
        f"consecutive runs; the last: {fmt_load(pooling.result)}"
    )
    print(f"  errors per run: {', '.join(str(e) for e in pooling.errors_per_run)}")
    for target, part in pooling.parts:
        print(f"    {target:<34} {fmt_load(part)}")
    for shard, peak in pooling.max_server_conns.items():
        print(f"  {shard} primary: max {peak} server connections of nexus_app over {pooling.samples} samples")
    print(
        f"  cap: PgBouncer default_pool_size {pooling.cap} per shard "
        f"(max_db_connections {stack.pool.max_db_connections})"
    )
    print("\n## Replica offload (read-heavy mix through nginx: 80% list, 15% get by id, 5% create)")
    print(f"  {fmt_load(offload.result)}")
    print(f"  documents scans: replicas {offload.replica_scans}, primaries {offload.primary_scans}")
    print("\n## Ratios and targets")
    for row in [*ratios(matrix, hello, pgbench, peer), *target_rows(pooling, offload)]:
        print(fmt_ratio(row))


def _offload(fleet: Fleet, conns: int, secs: int) -> OffloadResult:
    stack = fleet.stack
    shards = [s.id for s in stack.topology.shards]
    primaries = {s: stack.primary_dsn(s, superuser=True) for s in shards}
    replicas = {
        f"{s}.{i}": stack.replica_dsn(s, i, superuser=True)
        for s in shards
        for i in range(stack.topology.shard(s).read_replicas)
    }
    env = {
        "BENCH_TOKEN": fleet.token,
        "BENCH_DOC_IDS": ",".join(fleet.doc_ids),
        "BENCH_MIX_LIST": "80",
        "BENCH_MIX_POST": "5",
    }
    # A short run first: documents whose cache entry expired since seeding are read once from the writer
    # (read-your-writes), which is the cold start, not the steady state this measures.
    run_wrk(fleet.urls["nginx"] + "/", seconds=2, connections=conns, script="mix.lua", env=env)
    progress(f"replica offload: waiting {STATS_SETTLE_SECONDS:.0f} s for table statistics to settle")
    time.sleep(STATS_SETTLE_SECONDS)
    p0, r0 = probes.scan_counters(primaries, replicas)
    result = run_wrk(fleet.urls["nginx"] + "/", seconds=secs, connections=conns, script="mix.lua", env=env)
    time.sleep(STATS_SETTLE_SECONDS)
    p1, r1 = probes.scan_counters(primaries, replicas)
    return OffloadResult(result=result, replica_scans=r1 - r0, primary_scans=p1 - p0)


def _pooling(fleet: Fleet, clients: int, secs: int, runs: int) -> Pooling:
    """Uncached reads from `clients` connections, split over the cache-off nginx pair and 2-worker instance:
    four app processes whose pools (10 each) together ask PgBouncer for more than its cap. `runs`
    consecutive runs; the sampler watches all of them."""
    stack = fleet.stack
    dsns = {s.id: stack.primary_dsn(s.id, superuser=True) for s in stack.topology.shards}
    doc = f"/v1/documents/{fleet.doc_ids[0]}"
    env = {"BENCH_TOKEN": fleet.token}
    half = clients // 2
    errors: list[int] = []
    results: list[LoadResult] = []
    with probes.ConnectionSampler(dsns) as sampler, ThreadPoolExecutor(max_workers=2) as pool:
        for run in range(runs):
            progress(f"pooling: {clients} connections of uncached reads, run {run + 1}/{runs}")
            futures = [
                pool.submit(
                    run_wrk, fleet.urls["off-nginx"] + doc, seconds=secs + 3, connections=half, env=env
                ),
                pool.submit(
                    run_wrk, fleet.urls["off-2w"] + doc, seconds=secs + 3, connections=clients - half, env=env
                ),
            ]
            results = [f.result() for f in futures]
            errors.append(sum(r.errors for r in results))
    combined = LoadResult(
        status_errors=sum(r.status_errors for r in results),
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p90_ms=max(r.p90_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
        errors=sum(r.errors for r in results),
    )
    return Pooling(
        connections=clients,
        result=combined,
        max_server_conns=dict(sampler.maxima),
        cap=stack.pool.default_pool_size,
        samples=sampler.samples,
        parts=(
            ("nginx over 2 cache-off instances", results[0]),
            ("cache-off instance, 2 workers", results[1]),
        ),
        run_errors=tuple(errors),
    )


if __name__ == "__main__":
    sys.exit(main())
