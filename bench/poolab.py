"""`python -m bench.poolab`: the 500-client pooling load of `make bench`, A against B in alternating rounds
(docs/benchmarks.md, "Issue 18: changes, each measured").

One local stack; two API instances of 4 workers each, cache off (40 pooled connections per instance against
PgBouncer's 20 server connections per shard): A is another tree of the app (`--a-tree`, e.g. a `git archive`
of main), or with no tree this one with `--a-env`; B is this tree. Only one of them is loaded at a time. Each
round prints errors (socket errors plus responses >= 400), req/s, p50 / p99, the 1-minute load average, and
the most server connections of the app role seen on any primary during it (the pool cap).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import machine, probes
from bench.__main__ import progress
from bench.fleet import Fleet, _answers_200
from bench.wrk import run_wrk
from devstack import LocalStack, free_port_plan, load_topology
from devstack.procs import spawn, stop_child, wait_until
from devstack.stack import DEFAULT_STACK_FILE, REPO_ROOT


def _env_pairs(pairs: list[str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poolab", description=__doc__)
    parser.add_argument("--a-tree", type=Path, default=None, help="side A's app tree (default: this)")
    parser.add_argument("--a-env", action="append", default=[], help="KEY=VALUE for side A's instance")
    parser.add_argument("--b-env", action="append", default=[], help="KEY=VALUE for side B's instance")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)

    topology = load_topology(DEFAULT_STACK_FILE)
    workdir = Path(tempfile.mkdtemp(prefix="nexus-poolab-"))
    workdir.chmod(0o755)
    stack = LocalStack(
        workdir,
        DEFAULT_STACK_FILE,
        ports=free_port_plan(topology, api_instances=1),
        api_instances=1,
        api_workers=1,
        log=progress,
        app_env_overrides={"NEXUS_ACCESS_LOG": "errors"},
    )
    fleet = Fleet(stack=stack, workdir=workdir)
    procs = []
    try:
        stack.start()
        fleet.urls["one-1w"] = stack.api_url(0)
        fleet.seed(1)
        plan = free_port_plan(topology, api_instances=2)
        sides = {"A": (args.a_tree or REPO_ROOT, args.a_env), "B": (REPO_ROOT, args.b_env)}
        urls = {}
        for (name, (tree, extra)), port in zip(sides.items(), (plan.api(0), plan.api(1)), strict=True):
            env = {**os.environ, **stack.app_env, **_env_pairs(extra)}
            env.update(
                PYTHONPATH=str(tree),
                PYTHONUNBUFFERED="1",
                NEXUS_PORT=str(port),
                NEXUS_WORKERS=str(args.workers),
                NEXUS_CACHE_ENABLED="false",
            )
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            log_path = workdir / f"poolab-{name}.log"
            cmd = [sys.executable, "-m", "app.serve"]
            procs.append(spawn(cmd, log_path=log_path, env=env, cwd=Path(tree)))
            urls[name] = f"http://127.0.0.1:{port}"
            wait_until(functools.partial(_answers_200, urls[name] + "/readyz"), what=name, timeout=90.0)
            print(f"{name}: {tree} {' '.join(extra)}", flush=True)
        doc = f"/v1/documents/{fleet.doc_ids[0]}"
        env = {"BENCH_TOKEN": fleet.token}
        for url in urls.values():  # warm-up: pools, token cache
            run_wrk(url + doc, seconds=1, connections=64, env=env)
        dsns = {s.id: stack.primary_dsn(s.id, superuser=True) for s in stack.topology.shards}
        print("round side errors status_errors req/s p50_ms p99_ms load1 max_server_conns", flush=True)
        for rnd in range(args.rounds):
            for name, url in urls.items():
                with probes.ConnectionSampler(dsns) as sampler:
                    res = run_wrk(url + doc, seconds=args.seconds, connections=args.connections, env=env)
                cap = max(sampler.maxima.values(), default=0)
                load1 = machine.load_average()[0]
                print(
                    f"{rnd + 1} {name} {res.errors} {res.status_errors} {res.requests / res.seconds:.0f} "
                    f"{res.p50_ms:.0f} {res.p99_ms:.0f} {load1:.2f} {cap}",
                    flush=True,
                )
        for name in urls:
            log = (workdir / f"poolab-{name}.log").read_text(errors="replace")
            opened = log.count("failing fast")
            slow = log.count("slow, not down")
            print(f"{name} log: breaker opened {opened} times; checks answered {slow}", flush=True)
    finally:
        for proc in reversed(procs):
            stop_child(proc, timeout=20)
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
