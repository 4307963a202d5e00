"""Port plan, rendered configs, tenant map and app environment of the local stack (no services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.appenv import LocalSecrets, app_environment, local_tenant_map
from devstack.configs import PoolSettings, nginx_conf, pgbouncer_ini, redis_command
from devstack.stack import DEFAULT_STACK_FILE
from devstack.tls import ServerCert
from devstack.topology import PortPlan, Topology, free_port_plan, load_topology

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology(DEFAULT_STACK_FILE)


@pytest.fixture(scope="module")
def ports(topology: Topology) -> PortPlan:
    return PortPlan(base=25400, http=8080, api_instances=2, shard_ids=tuple(s.id for s in topology.shards))


def test_dev_stack_file_drives_the_topology(topology: Topology) -> None:
    assert [s.id for s in topology.shards] == ["shard-a", "shard-b"]
    assert all(s.read_replicas >= 1 for s in topology.shards)
    assert topology.shard("shard-a").tenants == ("acme", "globex")
    assert topology.shard("shard-b").alias == "nexus_shard_b"


def test_unknown_shard_names_the_known_ones(topology: Topology) -> None:
    with pytest.raises(KeyError, match="shard-a, shard-b"):
        topology.shard("shard-z")


def test_port_layout_has_no_collisions_and_avoids_system_ports(topology: Topology, ports: PortPlan) -> None:
    all_ports = ports.all_ports(topology)
    assert len(all_ports) == len(set(all_ports))
    assert not {5432, 6379, 6432, 80} & set(all_ports)
    assert ports.pgbouncer == 25400
    assert ports.primary("shard-a") == 25420
    assert ports.replica("shard-a", 0) == 25421
    assert ports.primary("shard-b") == 25430


@pytest.mark.parametrize(
    ("base", "http", "message"),
    [(25400, 25401, "clashes"), (25400, 25421, "clashes"), (65530, 8080, "outside"), (80, 8080, "outside")],
)
def test_port_plan_rejects_bad_layouts(base: int, http: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PortPlan(base=base, http=http, api_instances=2, shard_ids=("shard-a", "shard-b"))


def test_free_port_plan_covers_every_service(topology: Topology) -> None:
    plan = free_port_plan(topology, api_instances=2)
    # http; pgbouncer, redis, s3; two API instances; two shards of primary + replica.
    assert len(set(plan.all_ports(topology))) == 1 + 3 + 2 + 4


def test_pgbouncer_pools_per_transaction_with_an_alias_per_shard(topology: Topology, ports: PortPlan) -> None:
    ini = pgbouncer_ini(
        ports=ports,
        topology=topology,
        pool=PoolSettings(),
        userlist=Path("/u"),
        pidfile=Path("/p"),
        tls=ServerCert(cert=Path("/t/pgbouncer.crt"), key=Path("/t/pgbouncer.key")),
        ca_cert=Path("/t/ca.crt"),
    )
    assert "pool_mode = transaction" in ini
    # TLS on both sides: clients must use it, and PgBouncer verifies the primaries against the local CA.
    assert "client_tls_sslmode = require" in ini
    assert "client_tls_cert_file = /t/pgbouncer.crt" in ini
    assert "server_tls_sslmode = verify-full" in ini
    assert "server_tls_ca_file = /t/ca.crt" in ini
    assert "nexus_shard_a = host=127.0.0.1 port=25420 dbname=nexus" in ini
    assert "nexus_shard_b = host=127.0.0.1 port=25430 dbname=nexus" in ini
    assert "listen_addr = 127.0.0.1" in ini
    assert "max_client_conn = 2000" in ini


def test_pool_settings_refuse_a_client_cap_below_1000() -> None:
    with pytest.raises(ValueError, match="at least 1000"):
        PoolSettings(max_client_conn=500)
    with pytest.raises(ValueError, match="default_pool_size"):
        PoolSettings(default_pool_size=50, max_db_connections=40)


def test_redis_never_evicts_and_keeps_nothing_on_disk() -> None:
    cmd = redis_command(port=1234, workdir=Path("/w"), maxmemory="64mb")
    assert cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"
    assert cmd[cmd.index("--save") + 1] == ""
    assert cmd[cmd.index("--appendonly") + 1] == "no"
    assert cmd[cmd.index("--bind") + 1] == "127.0.0.1"


def test_nginx_upstream_lists_instances_and_marks_drained_ones_down(ports: PortPlan) -> None:
    conf = nginx_conf(
        ports=ports, prefix=Path("/n"), log_dir=Path("/l"), drained=frozenset({1}), client_max_body_bytes=1000
    )
    assert "server 127.0.0.1:25410 max_fails=1 fail_timeout=2s;" in conf
    assert "server 127.0.0.1:25411 max_fails=1 fail_timeout=2s down;" in conf
    assert "listen 127.0.0.1:8080;" in conf
    assert "proxy_next_upstream error timeout;" in conf
    assert "keepalive 64;" in conf


def test_local_tenant_map_writes_through_pgbouncer_and_reads_from_replicas(
    topology: Topology, ports: PortPlan
) -> None:
    tenant_map = local_tenant_map(topology, ports)
    assert tenant_map["version"] == 1
    assert tenant_map["tenants"] == {
        "acme": "shard-a",
        "globex": "shard-a",
        "initech": "shard-b",
        "umbrella": "shard-b",
    }
    assert tenant_map["defaultShard"] == "shard-b"
    shard_a = tenant_map["shards"]["shard-a"]
    assert shard_a["writer"] == {"host": "127.0.0.1", "port": 25400}
    assert shard_a["database"] == "nexus_shard_a"
    assert shard_a["readers"] == [{"host": "127.0.0.1", "port": 25421}]
    assert shard_a["readerDatabase"] == "nexus"
    assert shard_a["passwordEnv"] == "NEXUS_DB_PASSWORD_SHARD_A"
    json.dumps(tenant_map)  # plain JSON, as the app reads it


def test_app_environment_follows_the_contract(topology: Topology, ports: PortPlan, tmp_path: Path) -> None:
    secrets = LocalSecrets.load_or_create(tmp_path / "secrets.json")
    env = app_environment(
        topology=topology,
        ports=ports,
        secrets_=secrets,
        tenant_map_file=tmp_path / "tenant-map.json",
        ca_bundle=tmp_path / "ca.crt",
        api_workers=2,
        overrides={"NEXUS_CACHE_ENABLED": "false"},
    )
    assert env["NEXUS_ENV"] == "development"
    assert env["NEXUS_REDIS_URL"] == "redis://127.0.0.1:25401/0"
    assert env["NEXUS_S3_ENDPOINT_URL"] == "http://127.0.0.1:25402"
    assert env["NEXUS_DB_PASSWORD_SHARD_A"] == env["NEXUS_DB_PASSWORD_SHARD_B"] == secrets.app_password
    assert json.loads(env["NEXUS_JWT_KEYS"])[env["NEXUS_JWT_ACTIVE_KID"]] == secrets.jwt_secret
    assert env["NEXUS_CACHE_ENABLED"] == "false"
    assert env["NEXUS_DB_SSL"] == "verify-full"
    assert env["NEXUS_DB_CA_BUNDLE"] == str(tmp_path / "ca.crt")
    assert all(isinstance(value, str) for value in env.values())


def test_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = LocalSecrets.load_or_create(tmp_path / "secrets.json")
    second = LocalSecrets.load_or_create(tmp_path / "secrets.json")
    assert first == second
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert first.app_password != first.superuser_password
