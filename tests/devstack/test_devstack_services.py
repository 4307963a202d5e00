"""The data services of the local stack are real and wired as the tenant map says."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import asyncpg
import boto3
import pytest
import redis

from devstack import LocalStack
from devstack.procs import pid_alive, port_open
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SHARDS = ("shard-a", "shard-b")


@pytest.mark.parametrize("shard", SHARDS)
def test_replica_streams_from_its_primary(data_stack: LocalStack, shard: str) -> None:
    token = secrets.token_hex(8)  # hex made here: safe to inline into SQL
    data_stack.psql(shard, "CREATE TABLE IF NOT EXISTS devstack_probe (token text)")
    data_stack.psql(shard, f"INSERT INTO devstack_probe VALUES ('{token}')")  # noqa: S608
    probe = f"SELECT count(*) FROM devstack_probe WHERE token = '{token}'"  # noqa: S608
    wait_until(lambda: data_stack.psql(shard, probe, replica=0) == "1", timeout=10, what=f"{shard}'s replica")
    assert data_stack.psql(shard, "SELECT pg_is_in_recovery()", replica=0) == "t"
    state = data_stack.psql(shard, "SELECT state, sync_state FROM pg_stat_replication")
    assert state == "streaming|async"


def test_replica_refuses_writes(data_stack: LocalStack) -> None:
    with pytest.raises(Exception, match="read-only transaction"):
        data_stack.psql("shard-a", "CREATE TABLE nope (id int)", replica=0)


def test_the_owner_role_owns_the_database_and_the_app_role_has_no_superpowers(data_stack: LocalStack) -> None:
    flags = data_stack.psql(
        "shard-a", "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = 'nexus_app'"
    )
    assert flags == "f|f|f"
    # The owner is what RDS's master user is: no superuser, no BYPASSRLS, but it may create roles.
    flags = data_stack.psql(
        "shard-a", "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = 'nexus_owner'"
    )
    assert flags == "f|f|t"
    owner = data_stack.psql(
        "shard-a", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'nexus'"
    )
    assert owner == "nexus_owner"


def test_shards_are_separate_servers(data_stack: LocalStack) -> None:
    marker = secrets.token_hex(8)
    data_stack.psql("shard-a", "CREATE TABLE IF NOT EXISTS devstack_marker (v text)")
    data_stack.psql("shard-b", "CREATE TABLE IF NOT EXISTS devstack_marker (v text)")
    data_stack.psql("shard-a", f"INSERT INTO devstack_marker VALUES ('{marker}')")  # noqa: S608
    count = f"SELECT count(*) FROM devstack_marker WHERE v = '{marker}'"  # noqa: S608
    assert data_stack.psql("shard-a", count) == "1"
    assert data_stack.psql("shard-b", count) == "0"


async def _hold_transactions(dsn: str, clients: int, seconds: float) -> list[int]:
    """``clients`` connections each run one transaction that sleeps; returns each backend's pid."""
    # PgBouncer 1.18 in transaction mode cannot keep prepared statements: no statement cache.
    connections = await asyncio.gather(
        *(asyncpg.connect(dsn, statement_cache_size=0) for _ in range(clients))
    )
    try:

        async def one(conn: asyncpg.Connection) -> int:
            async with conn.transaction():
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await conn.execute(f"SELECT pg_sleep({seconds})")
                return int(pid)

        return list(await asyncio.gather(*(one(conn) for conn in connections)))
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))


def test_pgbouncer_multiplexes_many_clients_onto_few_server_connections(data_stack: LocalStack) -> None:
    clients = 200
    pids = asyncio.run(_hold_transactions(data_stack.pgbouncer_dsn("shard-a"), clients, 0.05))
    assert len(pids) == clients
    # Every transaction ran, on at most default_pool_size server connections for the (alias, user) pair.
    assert len(set(pids)) <= data_stack.pool.default_pool_size
    pools = {
        line.split("|")[0]: line.split("|")
        for line in data_stack.pgbouncer_admin("SHOW POOLS").splitlines()
        if line.startswith("nexus_shard_a|")
    }
    assert pools["nexus_shard_a"][-1] == "transaction"


def test_pgbouncer_reaches_each_shard_under_its_alias(data_stack: LocalStack) -> None:
    async def database_and_port(shard: str) -> tuple[str, int]:
        conn = await asyncpg.connect(data_stack.pgbouncer_dsn(shard), statement_cache_size=0)
        try:
            row = await conn.fetchrow("SELECT current_database(), inet_server_port()")
            assert row is not None
            return str(row[0]), int(row[1])
        finally:
            await conn.close()

    for shard in SHARDS:
        database, port = asyncio.run(database_and_port(shard))
        assert database == "nexus"
        assert port == data_stack.ports.primary(shard)


def test_redis_answers_and_never_evicts(data_stack: LocalStack) -> None:
    client = redis.Redis.from_url(data_stack.redis_url)
    try:
        assert client.ping()
        client.set("devstack:probe", "1", ex=10)
        assert client.get("devstack:probe") == b"1"
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert int(client.config_get("maxmemory")["maxmemory"]) > 0
    finally:
        client.close()


def test_s3_bucket_exists_and_stores_objects(data_stack: LocalStack) -> None:
    env = data_stack.app_env
    s3 = boto3.client(
        "s3",
        endpoint_url=env["NEXUS_S3_ENDPOINT_URL"],
        region_name=env["NEXUS_S3_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    key = f"devstack/{secrets.token_hex(4)}.txt"
    s3.put_object(Bucket=env["NEXUS_S3_BUCKET"], Key=key, Body=b"hello")
    assert s3.get_object(Bucket=env["NEXUS_S3_BUCKET"], Key=key)["Body"].read() == b"hello"


def test_services_json_lists_every_running_service(data_stack: LocalStack) -> None:
    listing = json.loads((data_stack.workdir / "services.json").read_text())["services"]
    by_name = {entry["name"]: entry for entry in listing}
    expected = {"pgbouncer", "redis", "s3"} | {
        f"postgres:{shard}:{role}" for shard in SHARDS for role in ("primary", "replica-0")
    }
    assert expected <= set(by_name)
    ports = data_stack.ports
    assert by_name["pgbouncer"]["port"] == ports.pgbouncer
    assert by_name["redis"]["port"] == ports.redis
    assert by_name["postgres:shard-b:replica-0"]["port"] == ports.replica("shard-b", 0)
    for entry in by_name.values():
        assert pid_alive(entry["pid"]), entry
        assert Path(entry["log"]).exists(), entry
        # The queue worker (present once the app runs) listens on nothing.
        if entry["name"] == "worker":
            assert entry["port"] is None
        else:
            assert port_open(entry["port"]), entry


def test_tenant_map_file_matches_the_stack_file(data_stack: LocalStack) -> None:
    tenant_map = json.loads(Path(data_stack.app_env["NEXUS_TENANT_MAP_FILE"]).read_text())
    assert tenant_map == data_stack.tenant_map
    assert tenant_map["tenants"]["acme"] == "shard-a"
    assert tenant_map["shards"]["shard-b"]["writer"]["port"] == data_stack.ports.pgbouncer
