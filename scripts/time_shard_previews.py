"""Time the offline preview as cold processes for stacks of 1, 10 and 50 shards (docs/shards.md).

Each stack file is Pulumi.dev.yaml with its shards replaced by N one-tenant shards, written to a temporary
directory and previewed with ``python -m stacks.preview --stack dev --config-file <file> --json``, one new
Python process per run (imports included, as ``make preview`` pays them). Prints one line per shard count:
resources, the median and spread of the wall times, and the cost per added shard against the 1-shard stack.

    venv/bin/python scripts/time_shard_previews.py [--runs 3] [--shards 1 10 50]
    venv/bin/python scripts/time_shard_previews.py --warm --shards 1 10 25 50 100

``--warm`` runs the program in this process instead (imports paid once, before timing) and prints the CPU
seconds of each run: the engine's own cost per shard, without the fixed import cost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent


def stack_file(directory: Path, shards: int) -> Path:
    """Pulumi.dev.yaml with ``shards`` one-tenant shards (one replica each, from the dev defaults)."""
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["nexus:shards"] = {f"shard-{i:02d}": {"tenants": [f"tenant-{i:02d}"]} for i in range(shards)}
    config["nexus:defaultShard"] = "shard-00"
    path = directory / f"Pulumi.dev-{shards}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def preview_once(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one cold preview process, and the number of resources it planned.

    CPU time (user + system of the child) is the steadier figure on a shared machine: wall time also
    counts the time the process waited for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "stacks.preview", "--stack", "dev", "--config-file", str(path), "--json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"preview of {path.name} failed ({result.returncode}):\n{result.stderr}")
    return elapsed, cpu, len(json.loads(result.stdout)["resources"])


def warm_series(shard_counts: list[int]) -> None:
    """CPU and wall seconds of in-process runs (after one warm-up run), per shard count."""
    sys.path.insert(0, str(PROJECT_DIR))
    from offline import run_stack_file

    with tempfile.TemporaryDirectory() as tmp:
        run_stack_file(stack_file(Path(tmp), 1), project_dir=PROJECT_DIR, stack="dev", dry_run=True)
        for shards in shard_counts:
            path = stack_file(Path(tmp), shards)
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            run = run_stack_file(path, project_dir=PROJECT_DIR, stack="dev", dry_run=True)
            cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
            if run.error is not None:
                raise SystemExit(f"{shards} shards: {run.error}")
            print(
                f"{shards:>3} shards  {len(run.resources):>5} resources  CPU {cpu:6.2f} s  "
                f"wall {wall:6.2f} s  ({cpu / len(run.resources) * 1000:.1f} ms CPU per resource)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per shard count (default 3)")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--warm", action="store_true", help="time in-process runs instead of cold processes")
    args = parser.parse_args()
    if args.warm:
        warm_series(args.shards)
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    rows: list[tuple[int, int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for shards in args.shards:
            path = stack_file(Path(tmp), shards)
            walls, cpus, counts = zip(*(preview_once(path) for _ in range(args.runs)), strict=True)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            rows.append((shards, counts[0], wall, cpu))
            print(
                f"{shards:>3} shards  {counts[0]:>5} resources  wall median {wall:6.2f} s "
                f"(min {min(walls):.2f}, max {max(walls):.2f})  CPU median {cpu:6.2f} s  "
                f"[{args.runs} cold runs]",
                flush=True,
            )
    base_shards, base_resources, base_wall, base_cpu = rows[0]
    for shards, resources, wall, cpu in rows[1:]:
        added = shards - base_shards
        print(
            f"{base_shards} -> {shards} shards: +{resources - base_resources} resources; per added shard "
            f"{(wall - base_wall) / added * 1000:.0f} ms wall, {(cpu - base_cpu) / added * 1000:.0f} ms CPU"
        )


if __name__ == "__main__":
    main()
