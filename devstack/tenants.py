"""`python -m devstack.tenants ARGS...`: `python -m app.tenants ARGS...` against the `make local` stack.

The command gets the app's environment (the work dir's app.env) plus what only the migrations hold, the
owner's password of every shard, as the Kubernetes Job does in a cluster (docs/shards.md). Used by
`make tenant-move` and `make tenant-cleanup`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from devstack.appenv import LocalSecrets, migration_environment
from devstack.layout import DEFAULT_STACK_FILE, DEFAULT_WORKDIR, REPO_ROOT
from devstack.topology import load_topology


def tenants_environment(
    workdir: Path = DEFAULT_WORKDIR, stack_file: Path = DEFAULT_STACK_FILE
) -> dict[str, str]:
    env_file = workdir / "app.env"
    if not env_file.exists():
        raise SystemExit(f"{env_file} does not exist: start the stack first (make local)")
    env: dict[str, str] = {}
    for line in env_file.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    secrets_ = LocalSecrets.load_or_create(workdir / "secrets.json")
    env.update(migration_environment(load_topology(stack_file), secrets_))
    return env


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = dict(os.environ) | tenants_environment()
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-m", "app.tenants", *args], env=env, cwd=REPO_ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
