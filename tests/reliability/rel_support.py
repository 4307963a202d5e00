"""Helpers of the reliability tests: a bounded async load loop with fault marks, reports, and repair.

The load loop runs on 127.0.0.1 only, is bounded in both requests and seconds, and records every outcome
with its start and end time relative to the start of the run, so that a test can say which requests were in
flight when a fault happened and which started after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack import LocalStack
from tests.support.clients import fully_ready
from tests.support.waiting import wait_until

REPORT_ENV = "NEXUS_RELIABILITY_REPORT"


@dataclass(frozen=True)
class Outcome:
    op: str
    status: int
    """HTTP status; 0 when the client got no response at all (connection refused, reset, timeout)."""
    started: float
    ended: float
    ref: str | None = None
    """What the request wrote or read (a title or an id), for reconciliation."""
    error: str = ""


@dataclass(frozen=True)
class Step:
    """What one request did, as a load step reports it."""

    op: str
    status: int
    ref: str | None = None
    body: Any = None
    error: str = ""


StepFn = Callable[[httpx.AsyncClient, int], Awaitable[Step]]


@dataclass
class LoadRun:
    outcomes: list[Outcome] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    bodies: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0

    def statuses(self, op: str | None = None) -> Counter[int]:
        return Counter(o.status for o in self.outcomes if op is None or o.op == op)

    def failed(self, ok: Callable[[Outcome], bool]) -> list[Outcome]:
        return [o for o in self.outcomes if not ok(o)]

    def started_after(self, mark: str) -> list[Outcome]:
        at = self.marks[mark]
        return [o for o in self.outcomes if o.started >= at]

    def summary(self) -> dict[str, Any]:
        by_op: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            counts = by_op.setdefault(outcome.op, {})
            key = str(outcome.status)
            counts[key] = counts.get(key, 0) + 1
        return {
            "requests": len(self.outcomes),
            "seconds": round(self.duration, 2),
            "by_op": by_op,
            "marks": {name: round(at, 3) for name, at in self.marks.items()},
        }


async def run_load(
    base_url: str,
    step: StepFn,
    *,
    faults: Sequence[tuple[str, Callable[[], object]]] = (),
    concurrency: int = 8,
    warmup: float = 1.0,
    tail: float = 2.0,
    max_seconds: float = 20.0,
    max_requests: int = 4000,
    keepalive: bool = True,
) -> LoadRun:
    """Run ``step`` from ``concurrency`` clients; after ``warmup`` s, run each fault in turn (in a thread,
    marking ``<name>`` when it started and ``<name>:done`` when it returned); stop ``tail`` s after the last
    fault, at ``max_seconds`` or at ``max_requests``, whichever comes first. ``keepalive=False`` opens a
    new connection per request."""
    run = LoadRun()
    began = time.monotonic()
    deadline = began + max_seconds
    stop = asyncio.Event()
    issued = 0

    def now() -> float:
        return time.monotonic() - began

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal issued
        while not stop.is_set() and time.monotonic() < deadline and issued < max_requests:
            issued += 1
            n = issued
            started = now()
            try:
                result = await step(client, n)
            except httpx.HTTPError as exc:
                run.outcomes.append(Outcome("?", 0, started, now(), error=type(exc).__name__))
                continue
            run.outcomes.append(Outcome(result.op, result.status, started, now(), result.ref, result.error))
            if result.body is not None and result.ref is not None:
                run.bodies[result.ref] = result.body

    async def conductor() -> None:
        await asyncio.sleep(warmup)
        for name, action in faults:
            run.marks[name] = now()
            await asyncio.to_thread(action)
            run.marks[f"{name}:done"] = now()
        await asyncio.sleep(tail)
        stop.set()

    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency if keepalive else 0
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=15.0, limits=limits) as client:
        loops = [asyncio.create_task(client_loop(client)) for _ in range(concurrency)]
        conducting = asyncio.create_task(conductor())
        await asyncio.wait([conducting, *loops], return_when=asyncio.FIRST_COMPLETED)
        # Either the faults are done (stop is set) or the loops hit their bounds: let the faults finish,
        # since each restores what it broke.
        await conducting
        stop.set()
        await asyncio.gather(*loops)
    run.duration = now()
    return run


def report(scenario: str, **figures: Any) -> None:
    """Print one scenario's figures (``pytest -s`` shows them); append them to $NEXUS_RELIABILITY_REPORT."""
    line = json.dumps({"scenario": scenario, **figures}, sort_keys=True, default=str)
    print(f"RELIABILITY {line}")
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:  # noqa: PTH123 - a plain append
            out.write(line + "\n")


def status_of(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def repair(stack: LocalStack) -> list[str]:
    """Start again whatever a failed test left stopped (Redis, a replica, PgBouncer, an API instance, the
    worker) and wait for nginx's /readyz. Returns what it had to start: empty after a clean test."""
    started: list[str] = []
    for entry in stack.services():
        if entry["pid"] is not None:
            continue
        name, role = entry["name"], entry["role"]
        if role == "redis":
            stack.start_redis()
        elif role == "replica":
            _, shard, replica = name.split(":")
            stack.start_replica(shard, int(replica.removeprefix("replica-")))
        elif role == "pgbouncer":
            stack.restart_pgbouncer()
        elif role == "api":
            stack.start_api(int(name.removeprefix("api-")))
        elif role == "worker":
            stack.start_worker()
        else:
            continue
        started.append(name)
    with httpx.Client(base_url=stack.url) as client:
        wait_until(lambda: fully_ready(client), timeout=60, what="/readyz ready after repair")
    return started
