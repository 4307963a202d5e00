"""The supervisor of ``python -m devstack up``: a service that dies is reported at once, and the app's
processes are started again with backoff, as the kubelet restarts a pod's container.

Every ``POLL_SECONDS`` the supervisor looks at each service the stack wants running: a child process is
polled (which also reaps it, so a killed API instance no longer lingers as a zombie), a Postgres server is
looked up by the pid in its ``postmaster.pid``. A service that a fault control or the stack's own stop took
down on purpose is not wanted any more (``Service.wanted``) and is left alone.

What is restarted follows what runs it in AWS: the API instances and the worker are pods, and the kubelet
restarts their containers (``restartPolicy: Always``). The data services stand for managed services (RDS,
RDS Proxy, ElastiCache, S3) and nginx for the ALB: AWS recovers those, not the cluster, so locally their
death is reported with the tail of their log and left for the user to act on.

The delay before each restart follows the kubelet's crash-loop back-off (Kubernetes docs, "Pod Lifecycle",
container restarts: an exponential back-off delay of 10 s, 20 s, 40 s, ... capped at five minutes, reset once
the container has run for 10 minutes), scaled down for a laptop: 1 s, 2 s, 4 s, ... capped at 30 s, reset
once the process has run for 60 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.procs import pid_alive, pid_cmdline, tail
from devstack.runtime import Runtime, Service

POLL_SECONDS = 0.25
RESTARTED_ROLES = ("api", "worker")
"""Roles whose processes a real orchestrator restarts (pods); the rest are managed services in AWS."""

MANAGED_BY = {
    "nginx": "the ALB",
    "pgbouncer": "RDS Proxy",
    "primary": "RDS",
    "replica": "RDS",
    "redis": "ElastiCache",
    "s3": "S3",
}


@dataclass(frozen=True)
class Backoff:
    """The delay before restart number ``attempt`` (1-based): ``first * 2**(attempt-1)``, at most ``cap``."""

    first: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0
    """Seconds a restarted process must run before the next failure counts as the first again."""

    def delay(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        return float(min(self.cap, self.first * 2 ** (attempt - 1)))


def describe_exit(code: int | None) -> str:
    """'exited with code 3', 'killed by SIGTERM', or 'gone' when the code is unknown (not our child)."""
    if code is None:
        return "gone"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class _Watch:
    """What the supervisor knows of one restartable service between its death and its restart."""

    attempts: int = 0
    next_try: float = 0.0
    restarting: bool = False
    started_at: float = 0.0


class Supervisor:
    """Watches a started stack's services from a thread of its own until :meth:`stop`."""

    def __init__(
        self,
        rt: Runtime,
        restart: Callable[[Service], None],
        *,
        backoff: Backoff | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._rt = rt
        self._restart = restart
        self._backoff = backoff or Backoff()
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watches: dict[str, _Watch] = {}
        self._reported: dict[str, int | None] = {}
        """Services reported dead, by name, with the pid they had (reported once per death)."""
        self._pids: dict[str, int | None] = {}

    def start(self) -> None:
        now = time.monotonic()
        with self._rt.lock:
            for service in self._rt.services.values():
                self._pids[service.name] = service.pid()
                self._watches[service.name] = _Watch(started_at=now)
        self._thread = threading.Thread(target=self._run, name="devstack-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; a restart under way finishes or is refused by the stack's stop."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(self._poll):
            try:
                self.check()
            except Exception as exc:  # the watch must go on; a bug here is reported, not fatal
                self._say(f"supervisor: {type(exc).__name__}: {exc}")

    def check(self) -> None:
        """One round: report new deaths, schedule and start restarts that are due."""
        with self._rt.lock:
            services = list(self._rt.services.values())
        now = time.monotonic()
        for service in services:
            watch = self._watches.setdefault(service.name, _Watch(started_at=now))
            if watch.restarting or not service.wanted:
                continue
            pid = _live_pid(service)
            if pid is not None:
                self._pids[service.name] = pid
                self._reported.pop(service.name, None)
                if watch.attempts and now - watch.started_at >= self._backoff.reset_after:
                    watch.attempts = 0
                continue
            if service.name not in self._reported:
                self._report(service, watch, now)
            if service.role in RESTARTED_ROLES and now >= watch.next_try:
                self._begin_restart(service, watch)

    def _report(self, service: Service, watch: _Watch, now: float) -> None:
        old_pid = service.proc.pid if service.proc is not None else self._pids.get(service.name)
        self._reported[service.name] = old_pid
        how = describe_exit(service.proc.returncode if service.proc is not None else None)
        what = f"{service.name} (pid {old_pid}) {how}"
        if service.proc is not None:
            # uvicorn's workers outlive a manager killed with SIGKILL and keep its port: a container's
            # death takes all of its processes with it, so the group goes too.
            left = _stop_group(service.proc.pid)
            if left:
                what += f"; stopped {len(left)} process(es) it left behind: {', '.join(left)}"
        self._rt.write_services()
        if service.role in RESTARTED_ROLES:
            watch.attempts += 1
            delay = self._backoff.delay(watch.attempts)
            watch.next_try = now + delay
            self._say(
                f"{what}; restarting it in {delay:.0f}s (restart {watch.attempts}, back-off "
                f"{self._backoff.first:.0f}s doubling to {self._backoff.cap:.0f}s); log {service.log_path}"
            )
            return
        managed = MANAGED_BY.get(service.role, "a managed service")
        self._say(
            f"{what}; not restarted (in AWS, {managed} recovers it, not the cluster): the stack runs "
            f"degraded until you restart `make local`. Last lines of {service.log_path}:\n"
            f"{tail(service.log_path, 10)}"
        )

    def _begin_restart(self, service: Service, watch: _Watch) -> None:
        watch.restarting = True
        threading.Thread(
            target=self._restart_one, args=(service, watch), name=f"restart-{service.name}", daemon=True
        ).start()

    def _restart_one(self, service: Service, watch: _Watch) -> None:
        began = time.monotonic()
        try:
            self._restart(service)
        except Exception as exc:
            if self._stopping.is_set():
                return
            watch.attempts += 1
            delay = self._backoff.delay(watch.attempts)
            watch.next_try = time.monotonic() + delay
            self._say(
                f"{service.name}: restart {watch.attempts - 1} failed ({_summary(exc)}); "
                f"next try in {delay:.0f}s; log {service.log_path}"
            )
        else:
            with self._rt.lock:
                fresh = self._rt.services.get(service.name)
            pid = fresh.pid() if fresh is not None else None
            self._pids[service.name] = pid
            self._reported.pop(service.name, None)
            watch.started_at = time.monotonic()
            self._say(
                f"{service.name} restarted (pid {pid}) in {time.monotonic() - began:.1f}s "
                f"(restart {watch.attempts})"
            )
        finally:
            watch.restarting = False

    def _say(self, message: str) -> None:
        if not self._stopping.is_set():
            self._rt.log(message)


def _summary(exc: BaseException) -> str:
    """A StartError in one line: what failed, and the last line of the service's log it quotes."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    what = lines[0].split("; last lines of ", 1)[0]
    return f"{what}; its log ends: {lines[-1][:200]}" if len(lines) > 1 else what


def _stop_group(pgid: int) -> list[str]:
    """SIGKILL what is left of a dead service's process group; returns 'pid (command)' of each process.

    Each service is spawned in a session of its own (devstack/procs.py), so its group id is its pid and
    holds exactly the processes it started."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command: state, ppid, pgrp (proc(5)); a zombie has nothing left to stop.
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            left.append(f"{proc.name} ({' '.join(pid_cmdline(int(proc.name)).split())[:60]})")
    if left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return left


def _live_pid(service: Service) -> int | None:
    """The service's pid if its process is alive (polling, and so reaping, a child that exited)."""
    if service.pg is not None:
        pid = service.pg.pid()
        return pid if pid is not None and pid_alive(pid) else None
    if service.proc is not None:
        return service.proc.pid if service.proc.poll() is None else None
    return None
