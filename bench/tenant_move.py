"""`python -m bench.tenant_move` (`make bench-tenant-move`): how long a tenant move freezes writes.

Starts a temporary local stack (docs/local.md), then for each size seeds acme (shard-a) with that many
documents, moves it to shard-b while a client writes to it, and moves it back. Prints, per move: the rows
copied, the copy time and rate, how long writes were refused (the freeze: from the freeze's commit to the
routing override) and that freeze per 10k documents, and what the writer saw. Figures, not assertions:
docs/shards.md quotes them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from app.core.settings import build_settings
from app.tenants.move import Mover, MoveResult
from devstack import LocalStack, free_port_plan, load_topology
from devstack.appenv import migration_environment
from devstack.layout import DEFAULT_STACK_FILE

SIZES = (10_000, 50_000)


def _user(base: str, tenant: str) -> dict[str, str]:
    creds = {
        "tenant": tenant,
        "email": f"bench-{secrets.token_hex(4)}@example.com",
        "password": "bench pw long",
    }
    user_id = httpx.post(f"{base}/v1/auth/register", json=creds, timeout=30).json()["id"]
    token = httpx.post(f"{base}/v1/auth/token", json=creds, timeout=30).json()["access_token"]
    return {"id": user_id, "authorization": f"Bearer {token}"}


def _writer(base: str, auth: str, stop: threading.Event, seen: Counter[str]) -> None:
    with httpx.Client(base_url=base, timeout=30, headers={"authorization": auth}) as client:
        while not stop.is_set():
            response = client.post("/v1/documents", json={"title": "w", "body": "b"})
            code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
            seen[f"{response.status_code} {code}".strip()] += 1


def _move(stack: LocalStack, mover: Mover, auth: str, target: str) -> tuple[MoveResult, Counter[str]]:
    stop, seen = threading.Event(), Counter[str]()
    thread = threading.Thread(target=_writer, args=(stack.url, auth, stop, seen))
    thread.start()
    time.sleep(1)
    try:
        result = mover.move("acme", target)
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
    return result, seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tenant_move", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="documents per move")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-move-"))
    workdir.chmod(0o755)
    topology = load_topology(DEFAULT_STACK_FILE)
    ports = free_port_plan(topology, api_instances=2)
    quiet = lambda message: print(f"devstack: {message}", file=sys.stderr)  # noqa: E731
    rows = []
    with LocalStack(workdir, ports=ports, api_instances=2, api_workers=1, log=quiet).start() as stack:
        env = stack.app_env | migration_environment(stack.topology, stack.secrets)
        mover = Mover(build_settings(env, signs_tokens=False, owner=True), say=lambda _: None)
        user = _user(stack.url, "acme")
        seeded = 0
        for size in args.sizes:
            stack.psql(
                "shard-a",
                "INSERT INTO documents (id, tenant_id, author_id, title, body)"  # noqa: S608
                f" SELECT gen_random_uuid(), 'acme', '{user['id']}', 'seed-' || g, repeat('x', 200)"
                f" FROM generate_series(1, {size - seeded}) g",
            )
            seeded = size
            for target in ("shard-b", "shard-a"):
                result, seen = _move(stack, mover, user["authorization"], target)
                mover.cleanup("acme", grace_seconds=0)
                rows.append((size, result, seen))
        mover.close()
    print(
        f"{'documents':>10} {'move':>18} {'rows':>8} {'copy s':>7} {'rows/s':>8} {'freeze s':>8} "
        f"{'freeze/10k':>10}  writer saw"
    )
    for size, result, seen in rows:
        docs = next(c.rows for c in result.copied if c.table == "documents")
        freeze = result.freeze_seconds or 0.0
        print(
            f"{size:>10} {result.source + ' -> ' + result.target:>18} {result.rows:>8} "
            f"{result.copy_seconds:>7.2f} {result.rows / result.copy_seconds:>8.0f} {freeze:>8.2f} "
            f"{freeze * 10_000 / docs:>10.2f}  {dict(seen)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
