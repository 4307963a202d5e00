"""Polling until something holds, and waiting for a replica to replay what its primary has written."""

from __future__ import annotations

import time
from collections.abc import Callable

from devstack import LocalStack

POLL_SECONDS = 0.05


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> float:
    """Poll until ``predicate`` holds and return the seconds it took; fail the test after ``timeout``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_replayed(stack: LocalStack, shard: str, replica: int = 0) -> float:
    """Wait until the replica has replayed everything the shard's primary had written when called."""
    lsn = stack.psql(shard, "SELECT pg_current_wal_lsn()").strip()
    query = f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
    return wait_until(
        lambda: stack.psql(shard, query, replica=replica).strip() == "t",
        what=f"replica {replica} of {shard} to replay up to {lsn}",
    )
