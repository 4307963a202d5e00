"""Time the offline preview as cold processes for stacks of 1, 10 and 50 shards (docs/shards.md).

Each stack file is Pulumi.dev.yaml with its shards replaced by N one-tenant shards, written to a temporary
directory and previewed with ``python -m stacks.preview --stack dev --config-file <file> --json``, one new
Python process per run (imports included, as ``make preview`` pays them). Prints one line per shard count:
resources, the median and spread of the wall times, and the cost per added shard against the 1-shard stack.

    venv/bin/python scripts/time_shard_previews.py [--runs 3] [--shards 1 10 50]
"""

from __future__ import annotations

import argparse
import json
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


def preview_once(path: Path) -> tuple[float, int]:
    """Wall seconds of one cold preview process, and the number of resources it planned."""
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
    if result.returncode != 0:
        raise SystemExit(f"preview of {path.name} failed ({result.returncode}):\n{result.stderr}")
    return elapsed, len(json.loads(result.stdout)["resources"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per shard count (default 3)")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()
    rows: list[tuple[int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for shards in args.shards:
            path = stack_file(Path(tmp), shards)
            times, counts = zip(*(preview_once(path) for _ in range(args.runs)), strict=True)
            median = statistics.median(times)
            rows.append((shards, counts[0], median))
            print(
                f"{shards:>3} shards  {counts[0]:>5} resources  median {median:6.2f} s  "
                f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} cold runs)",
                flush=True,
            )
    base_shards, base_resources, base_time = rows[0]
    for shards, resources, median in rows[1:]:
        added = shards - base_shards
        print(
            f"{base_shards} -> {shards} shards: +{resources - base_resources} resources, "
            f"+{median - base_time:.2f} s = {(median - base_time) / added * 1000:.0f} ms per added shard"
        )


if __name__ == "__main__":
    main()
