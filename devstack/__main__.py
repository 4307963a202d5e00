"""``python -m devstack up|down|status|clean``: the local stack in the foreground (see docs/local.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devstack.layout import DEFAULT_HTTP_PORT, DEFAULT_PORT_BASE, DEFAULT_STACK_FILE, DEFAULT_WORKDIR
from devstack.lock import clean, down
from devstack.procs import StartError, pid_alive
from devstack.stack import LocalStack
from stacks.config import ConfigError
from stacks.errors import guarded, print_problems


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything and stay in the foreground until Ctrl-C")
    up.add_argument(
        "--stack-file", type=Path, default=DEFAULT_STACK_FILE, help="stack file (Pulumi.dev.yaml)"
    )
    up.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE, help="first service port (25400)")
    up.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="nginx port (8080)")
    up.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="state and logs (.local)")
    up.add_argument("--api-instances", type=int, default=2, help="API instances behind nginx (2)")
    up.add_argument("--api-workers", type=int, default=2, help="worker processes per API instance (2)")
    up.add_argument("--data-only", action="store_true", help="only Postgres, PgBouncer, Redis and S3")
    up.add_argument("--reset", action="store_true", help="delete the work directory's data first")
    helps = {
        "down": "stop the services a killed run left behind (listed in services.json)",
        "status": "show the services listed in services.json and whether each is alive",
        "clean": "down, then delete the work directory and the servers' data",
    }
    for name, text in helps.items():
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    return parser


class _StopSignalError(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP, like KeyboardInterrupt for SIGINT."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _StopSignalError(signal.Signals(signum).name)


def _first_tenant(stack: LocalStack) -> str:
    for shard in stack.topology.shards:
        if shard.tenants:
            return shard.tenants[0]
    return "acme"


def _banner(stack: LocalStack, data_only: bool) -> str:
    lines = [f"ready in {stack.timings['total']:.1f}s ({_phases(stack)})"]
    for service in stack.services():
        lines.append(f"  {service['name']:<28} pid {service['pid']!s:<8} port {service['port'] or '-'}")
    lines.append(
        f"  app environment: {stack.workdir / 'app.env'}   tenant map: {stack.workdir / 'tenant-map.json'}"
    )
    lines.append(
        "  supervised: a service that dies is reported here at once; API instances and the worker are "
        "restarted with back-off"
    )
    if data_only:
        return "\n".join(lines)
    tenant = _first_tenant(stack)
    body = f'{{"tenant": "{tenant}", "email": "dev@example.com", "password": "correct horse battery"}}'
    lines += [
        "",
        f"API: {stack.url}   (Ctrl-C stops everything)",
        "",
        "Register a user and get a token:",
        f"  curl -s -X POST {stack.url}/v1/auth/register -H 'content-type: application/json' -d '{body}'",
        f"  TOKEN=$(curl -s -X POST {stack.url}/v1/auth/token -H 'content-type: application/json' \\",
        f"    -d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  curl -s -X POST {stack.url}/v1/documents -H "authorization: Bearer $TOKEN" \\',
        '       -H \'content-type: application/json\' -d \'{"title": "hello", "body": "first document"}\'',
    ]
    return "\n".join(lines)


def _phases(stack: LocalStack) -> str:
    return ", ".join(f"{name} {secs:.1f}s" for name, secs in stack.timings.items() if name != "total")


def _up(args: argparse.Namespace) -> int:
    # SIGTERM (and a closed terminal) must stop the stack as cleanly as Ctrl-C does. SIGINT is set
    # explicitly: a shell that starts us in the background hands it down ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    if not Path(args.stack_file).is_file():
        return print_problems([f"stack file {args.stack_file} not found"])
    try:
        stack = LocalStack(
            args.workdir,
            args.stack_file,
            port_base=args.port_base,
            http_port=args.http_port,
            api_instances=args.api_instances,
            api_workers=args.api_workers,
            reset=args.reset,
        )
    except ConfigError as exc:  # the stack file is refused before anything starts: one line per problem
        return print_problems(exc.problems)
    try:
        stack.start(data_only=args.data_only)
    except (KeyboardInterrupt, _StopSignalError):
        _say("devstack: interrupted during start-up; stopped what had started")
        return 130
    except StartError as exc:
        _say(f"devstack: start failed: {exc}")
        return 1
    try:
        # From here on a service that dies is reported at once; the API instances and the worker are
        # started again with back-off (devstack/supervisor.py).
        stack.supervise()
        # If nobody reads our output any more, keep running until told to stop.
        with contextlib.suppress(OSError):
            print(_banner(stack, args.data_only), flush=True)
        threading.Event().wait()
    except (KeyboardInterrupt, _StopSignalError):
        pass
    finally:
        # A second Ctrl-C must not interrupt the orderly stop half-way.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        _say("\ndevstack: stopping")
        stack.stop()
        _say("devstack: stopped")
    return 0


def _say(message: str) -> None:
    """Print to stderr, ignoring a closed pipe: Ctrl-C on `make local | tee log` kills the reader first,
    and an exception from print must not skip the stop that follows."""
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr, flush=True)


def _status(workdir: Path) -> int:
    listing = workdir / "services.json"
    if not listing.exists():
        print(f"no services.json in {workdir}: nothing is running")
        return 1
    for entry in json.loads(listing.read_text())["services"]:
        state = "up" if entry["pid"] and pid_alive(entry["pid"]) else "down"
        print(f"{entry['name']:<28} {state:<5} pid {entry['pid']!s:<8} port {entry['port'] or '-'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        return _up(args)
    try:
        if args.command == "down":
            stopped = down(args.workdir)
            print(f"stopped {len(stopped)} service(s)" if stopped else "nothing to stop")
            return 0
        if args.command == "clean":
            clean(args.workdir)
            return 0
    except StartError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    return _status(args.workdir)


if __name__ == "__main__":
    # The shared exit-code table (stacks/errors.py): 1 for a refused stack file, 3 with a traceback for a bug.
    sys.exit(guarded(main))
