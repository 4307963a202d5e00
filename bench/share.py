"""`python -m bench.share`: where the CPU of a request goes, beyond the server (docs/benchmarks.md, "Why req/s
does not follow CPU per request").

Ours (one instance, 2 workers) and the textbook peer (2 workers), cached and uncached GET, alternating; for
each run the CPU per request of the server, `wrk` (the children's rusage of this process), Redis, PgBouncer
and shard-a's primary (process trees), and how busy the whole machine was. A diagnosis, not part of `make
bench`.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path

from bench.__main__ import peer_load, progress, scenario_load
from bench.fleet import Fleet
from bench.wrk import cpu_seconds, process_tree, run_wrk

PARTS = {"redis": ("redis",), "pgbouncer": ("pgbouncer",), "postgres": ("postgres:shard-a:primary",)}


def machine_jiffies() -> tuple[int, int]:
    """Total and idle (idle + iowait) jiffies of all CPUs so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.share", description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    fleet = Fleet.start(progress)
    try:
        fleet.seed(50)
        pids = {s["name"]: s["pid"] for s in fleet.stack.services()}
        roots = {part: [pids[name] for name in names] for part, names in PARTS.items()}
        targets: list[tuple[str, Callable[[], tuple[str, dict[str, str], list[int]]]]] = [
            ("ours cached", lambda: scenario_load(fleet, "1x2", "cached")),
            ("peer cached", lambda: peer_load(fleet, "cached")),
            ("ours uncached", lambda: scenario_load(fleet, "1x2", "uncached")),
            ("peer uncached", lambda: peer_load(fleet, "uncached")),
        ]
        for _, target in targets:  # warm-up: pools, token cache
            url, env, _ = target()
            run_wrk(url, seconds=1, connections=args.connections, env=env)
        for rnd in range(args.rounds):
            for name, target in targets:
                url, env, server = target()
                trees = {part: process_tree(r) for part, r in roots.items()}
                before = {part: cpu_seconds(tree) for part, tree in trees.items()}
                wrk_before, (total0, idle0), load = children_cpu(), machine_jiffies(), os.getloadavg()[0]
                res = run_wrk(
                    url, seconds=args.seconds, connections=args.connections, env=env, server_pids=server
                )
                total1, idle1 = machine_jiffies()
                per_req = {
                    part: (cpu_seconds(t) - before[part]) * 1e6 / res.requests for part, t in trees.items()
                }
                per_req["wrk"] = (children_cpu() - wrk_before) * 1e6 / res.requests
                server_us = res.cpu_us or 0.0
                cores = server_us * res.requests / 1e6 / res.seconds
                busy = 100 * (1 - (idle1 - idle0) / (total1 - total0))
                parts = "  ".join(f"{part} {us:4.0f}" for part, us in per_req.items())
                print(
                    f"{rnd + 1} {name:<14} load {load:5.2f}  {res.requests / res.seconds:7.0f} req/s  "
                    f"us per request: server {server_us:4.0f} ({cores:.2f} cores)  {parts}  "
                    f"chain {server_us + sum(per_req.values()):5.0f}  machine busy {busy:3.0f}%  "
                    f"p99 {res.p99_ms:.0f} ms",
                    flush=True,
                )
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
