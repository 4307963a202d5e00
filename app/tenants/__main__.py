"""`python -m app.tenants`: move a tenant to another shard, clean up after a move, check a shard is empty.

    python -m app.tenants move TENANT --to SHARD [--stack STACK] [--apply]
    python -m app.tenants move --cleanup TENANT [--grace-seconds N]
    python -m app.tenants status TENANT
    python -m app.tenants shard SHARD          # exit 1 while the shard still owns a tenant

Runs with the migrations' environment (the owner's password of every shard, NEXUS_REDIS_URL): locally
`make tenant-move`, in a cluster the Job of docs/shards.md. Exit 0 done, 1 refused or failed, 2 aborted after
a verification mismatch (nothing changed for users).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence

from app.core.settings import build_settings
from app.core.tenantmap import TENANT_ID_RE
from app.tenants.move import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_OVERRIDE_TTL_SECONDS,
    MoveAbortedError,
    MoveError,
    Mover,
    blocks_removal,
    config_edit,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.tenants", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    move = sub.add_parser("move", help="move a tenant to another shard (or --cleanup after a move)")
    move.add_argument("tenant", nargs="?", help="the tenant to move")
    move.add_argument("--to", dest="target", metavar="SHARD", help="the shard to move it to")
    move.add_argument("--cleanup", metavar="TENANT", help="delete a moved tenant's retired rows")
    move.add_argument("--grace-seconds", type=int, default=DEFAULT_GRACE_SECONDS)
    move.add_argument("--override-ttl", type=int, default=DEFAULT_OVERRIDE_TTL_SECONDS)
    move.add_argument("--stack", help="the Pulumi stack named in the printed config commands")
    move.add_argument("--apply", action="store_true", help="run the config commands (needs the pulumi CLI)")
    status = sub.add_parser("status", help="the tenant's state on every shard")
    status.add_argument("tenant")
    shard = sub.add_parser("shard", help="the tenants a shard records; exit 1 unless all are retired")
    shard.add_argument("shard")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    one_of = (args.cleanup is None) != (args.tenant is None) if args.command == "move" else True
    if not one_of or (args.command == "move" and (args.tenant is None) != (args.target is None)):
        parser.error("give either TENANT --to SHARD, or --cleanup TENANT")
    for tenant in (getattr(args, "tenant", None), getattr(args, "cleanup", None)):
        if tenant is not None and not TENANT_ID_RE.fullmatch(tenant):
            parser.error(f"not a tenant id: {tenant!r} (lowercase letters, digits, '-')")
    try:
        settings = build_settings(signs_tokens=False, owner=True)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    mover = Mover(settings)
    try:
        return _run(args, settings, mover)
    except MoveAbortedError as exc:
        print(f"aborted: {exc}", file=sys.stderr)
        return 2
    except MoveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        mover.close()


def _run(args: argparse.Namespace, settings: object, mover: Mover) -> int:
    if args.command == "status":
        found = mover.where(args.tenant)
        for shard_id, entry in sorted(found.items()):
            peer = f" (peer {entry.peer_shard})" if entry.peer_shard else ""
            print(f"{shard_id}: {entry.state}{peer}")
        if not found:
            print(f"tenant {args.tenant} is on no shard")
        return 0
    if args.command == "shard":
        blocking = 0
        for tenant, (entry, rows) in sorted(mover.shard_tenants(args.shard).items()):
            blocks = blocks_removal(entry, rows)
            blocking += blocks
            note = " (blocks removal)" if blocks else ""
            print(f"{tenant}: {entry.state}, {rows} rows{note}")
        if blocking:
            print(f"{args.shard} still owns {blocking} tenant(s): move them out first (docs/shards.md)")
            return 1
        print(f"{args.shard} owns no tenant with data: it can be removed (docs/shards.md)")
        return 0
    if args.cleanup is not None:
        mover.cleanup(args.cleanup, args.grace_seconds)
        return 0
    result = mover.move(args.tenant, args.target, override_ttl=args.override_ttl)
    commands = config_edit(mover.settings, result, args.stack)
    print(f"\nmoved {result.tenant} to {result.target}. Commit this config edit and deploy it:")
    print("\n".join(f"  {line}" for line in commands))
    print(f"then, after the grace period: python -m app.tenants move --cleanup {result.tenant}")
    if args.apply:
        if shutil.which("pulumi") is None:
            print("error: --apply needs the pulumi CLI on PATH", file=sys.stderr)
            return 1
        for line in commands:
            subprocess.run(shlex.split(line), check=True)  # noqa: S603 - our own command lines
    return 0


if __name__ == "__main__":
    sys.exit(main())
