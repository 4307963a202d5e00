"""One run per work directory: the lock file a running stack holds, and ``down`` / ``clean`` for what a
killed run left behind.

The lock file ``devstack.pid`` holds the owner's pid and a token telling one LocalStack from another in
the same process; services.json lists every service a run started, so that ``down`` can stop them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from devstack import postgres
from devstack.layout import DEFAULT_WORKDIR, LOCK_FILE, SERVICES_JSON, StackPaths, servers_dir
from devstack.postgres import PgInstance
from devstack.procs import StartError, pid_alive, pid_cmdline, service_user, stop_pid
from devstack.runtime import STOP_ORDER, log_stderr


class WorkdirLock:
    """The claim of one LocalStack on its work directory."""

    def __init__(self, paths: StackPaths) -> None:
        self._paths = paths
        self._token = secrets.token_hex(8)
        self.owned = False

    def refuse_if_taken(self) -> None:
        """Raise StartError if another live run (another process, or another LocalStack here) owns it."""
        root = self._paths.root
        owner = _lock_owner(root)
        if owner is not None and (owner, _lock_token(root)) != (os.getpid(), self._token):
            raise StartError(f"another devstack (pid {owner}) runs in {root}; stop it first")

    def take(self) -> None:
        self._paths.lock.write_text(f"{os.getpid()} {self._token}\n")
        self.owned = True

    def release(self) -> None:
        """Remove the lock and the listing, if this run owns the work dir.

        A start refused because another run is active must leave that run's services.json alone.
        """
        if self.owned:
            self._paths.services_json.unlink(missing_ok=True)
            self._paths.lock.unlink(missing_ok=True)
            self.owned = False


def down(workdir: Path | str = DEFAULT_WORKDIR, *, log: Callable[[str], None] = log_stderr) -> list[str]:
    """Stop what a previous run listed in services.json (e.g. after the orchestrator was killed).

    A recorded pid is signalled only if its command line still matches, so a recycled pid is left alone.
    Returns the names of the services it stopped.
    """
    root = Path(workdir).resolve()
    listing = root / SERVICES_JSON
    if not listing.exists():
        return []
    owner = _lock_owner(root)
    if owner is not None and owner != os.getpid():
        raise StartError(
            f"devstack up (pid {owner}) still runs in {root}: stop it with Ctrl-C or kill {owner}"
        )
    records = json.loads(listing.read_text())["services"]
    user = service_user()
    stopped = []
    for record in sorted(records, key=lambda r: STOP_ORDER.index(r["role"])):
        pid = record.get("pid")
        if "datadir" in record:
            inst = PgInstance(
                name=record["name"],
                datadir=Path(record["datadir"]),
                port=record["port"],
                log_path=Path(record["log"]),
            )
            if inst.pid() is not None and pid_alive(inst.pid() or 0):
                postgres.stop(inst, user)
                stopped.append(record["name"])
        elif pid and pid_alive(pid) and record.get("marker", "\0") in pid_cmdline(pid):
            stop_pid(pid)
            stopped.append(record["name"])
    listing.unlink()
    (root / LOCK_FILE).unlink(missing_ok=True)
    for name in stopped:
        log(f"stopped stale {name}")
    return stopped


def clean(workdir: Path | str = DEFAULT_WORKDIR, *, log: Callable[[str], None] = log_stderr) -> None:
    """Stop a stale run, then delete the work dir and the server state (wherever it was kept)."""
    root = Path(workdir).resolve()
    down(root, log=log)
    servers = servers_dir(root, service_user())
    for path in {root, servers}:
        if path.exists():
            shutil.rmtree(path)
            log(f"deleted {path}")


def _lock_fields(root: Path) -> list[str]:
    try:
        return (root / LOCK_FILE).read_text().split()
    except OSError:
        return []


def _lock_owner(root: Path) -> int | None:
    """The pid of a live process whose LocalStack owns the work dir, if any."""
    fields = _lock_fields(root)
    if not fields or not fields[0].isdigit():
        return None
    pid = int(fields[0])
    return pid if pid_alive(pid) else None


def _lock_token(root: Path) -> str:
    fields = _lock_fields(root)
    return fields[1] if len(fields) > 1 else ""
