"""The fault controls that the reliability tests use really break and restore each service.

Each test leaves the session's stack as it found it.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
import pytest
import redis

from devstack import LocalStack, StartError
from devstack.procs import pid_alive, port_open
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fault_table(data_stack: LocalStack) -> str:
    data_stack.psql("shard-a", "CREATE TABLE IF NOT EXISTS devstack_fault (token text PRIMARY KEY)")
    return "devstack_fault"


def _insert(stack: LocalStack, token: str) -> None:
    # Tokens are hex made by the test itself.
    stack.psql("shard-a", f"INSERT INTO devstack_fault VALUES ('{token}')")  # noqa: S608


def _present(stack: LocalStack, token: str, replica: int | None) -> bool:
    sql = f"SELECT count(*) FROM devstack_fault WHERE token = '{token}'"  # noqa: S608
    return stack.psql("shard-a", sql, replica=replica) == "1"


def _on_replica(stack: LocalStack, token: str) -> bool:
    return _present(stack, token, replica=0)


def test_redis_stop_and_start(data_stack: LocalStack) -> None:
    data_stack.stop_redis()
    assert not port_open(data_stack.ports.redis)
    data_stack.start_redis()
    client = redis.Redis.from_url(data_stack.redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_paused_replay_holds_back_the_replica_until_resumed(data_stack: LocalStack, fault_table: str) -> None:
    data_stack.pause_replay("shard-a")
    try:
        token = secrets.token_hex(6)
        _insert(data_stack, token)
        time.sleep(0.5)
        assert not _on_replica(data_stack, token), "replay is paused: the replica must lag"
    finally:
        data_stack.resume_replay("shard-a")
    wait_until(lambda: _on_replica(data_stack, token), timeout=10, what="the row on the replica")


def test_stopped_replica_catches_up_from_its_slot(data_stack: LocalStack, fault_table: str) -> None:
    port = data_stack.ports.replica("shard-a", 0)
    data_stack.stop_replica("shard-a")
    try:
        assert not port_open(port)
        assert data_stack.psql("shard-a", "SELECT count(*) FROM pg_stat_replication") == "0"
        token = secrets.token_hex(6)
        _insert(data_stack, token)  # written while the replica is down
    finally:
        data_stack.start_replica("shard-a")
    assert data_stack.psql("shard-a", "SELECT state FROM pg_stat_replication") == "streaming"
    wait_until(lambda: _on_replica(data_stack, token), timeout=10, what="the row on the replica")


def test_primary_restart_keeps_committed_rows(data_stack: LocalStack, fault_table: str) -> None:
    before = data_stack.services()
    token = secrets.token_hex(6)
    _insert(data_stack, token)
    data_stack.restart_primary("shard-a")
    after = {entry["name"]: entry["pid"] for entry in data_stack.services()}
    old_pid = next(entry["pid"] for entry in before if entry["name"] == "postgres:shard-a:primary")
    assert after["postgres:shard-a:primary"] != old_pid
    assert _present(data_stack, token, replica=None)
    wait_until(lambda: _on_replica(data_stack, token), timeout=10, what="the row on the replica")


def test_pgbouncer_restart_cuts_clients_and_comes_back(data_stack: LocalStack) -> None:
    dsn = data_stack.pgbouncer_dsn("shard-a")

    async def scenario() -> None:
        conn = await asyncpg.connect(dsn, statement_cache_size=0)
        try:
            assert await conn.fetchval("SELECT 1") == 1
            await asyncio.to_thread(data_stack.restart_pgbouncer)
            with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError)):
                await conn.fetchval("SELECT 1")
        finally:
            conn.terminate()
        fresh = await asyncpg.connect(dsn, statement_cache_size=0)
        try:
            assert await fresh.fetchval("SELECT 2") == 2
        finally:
            await fresh.close()

    asyncio.run(scenario())


def test_starting_a_running_service_is_refused(data_stack: LocalStack) -> None:
    pid = next(e["pid"] for e in data_stack.services() if e["name"] == "redis")
    with pytest.raises(StartError, match="already running"):
        data_stack.start_redis()
    assert next(e["pid"] for e in data_stack.services() if e["name"] == "redis") == pid
    assert pid_alive(pid)


def test_controls_name_what_does_not_exist(data_stack: LocalStack) -> None:
    with pytest.raises(IndexError, match="no replica 3"):
        data_stack.replica_dsn("shard-a", 3)
    with pytest.raises(KeyError, match="unknown shard"):
        data_stack.primary_dsn("shard-z")
    with pytest.raises(StartError, match="psql"):
        data_stack.psql("shard-a", "SELECT * FROM no_such_table")


def test_stopped_services_are_listed_without_a_pid(data_stack: LocalStack) -> None:
    data_stack.stop_redis()
    try:
        entry = next(e for e in data_stack.services() if e["name"] == "redis")
        assert entry["pid"] is None
    finally:
        data_stack.start_redis()
    entry = next(e for e in data_stack.services() if e["name"] == "redis")
    assert entry["pid"] is not None
    assert pid_alive(entry["pid"])
