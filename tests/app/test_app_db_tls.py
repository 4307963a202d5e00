"""TLS to every database of the local stack, verified like the app verifies RDS (verify-full).

Every Postgres server (primaries, replicas) and PgBouncer present a certificate from the stack's own CA; the
servers accept TLS connections only. These tests show that what the app does (``verifying_context``, the
migrations' libpq parameters) is refused by a server whose certificate chains to another CA or names another
host, and that the app's own connections are TLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import psycopg2
import pytest

from app.core.dbtls import libpq_params, verifying_context
from devstack import LocalStack
from devstack.tls import make_ca

pytestmark = pytest.mark.integration

# The SSLRequest message of the PostgreSQL protocol: length 8, code 80877103 (protocol-flow docs).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _tls_handshake(port: int, context: ssl.SSLContext, server_hostname: str) -> float:
    """Ask a Postgres-protocol server for TLS and complete the handshake; the handshake's seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S", "the server offers TLS"
        began = time.perf_counter()
        with context.wrap_socket(raw, server_hostname=server_hostname):
            return time.perf_counter() - began


def _endpoints(stack: LocalStack) -> dict[str, int]:
    ports = {"pgbouncer": stack.ports.pgbouncer}
    for shard in ("shard-a", "shard-b"):
        ports[f"{shard} primary"] = stack.ports.primary(shard)
        ports[f"{shard} replica"] = stack.ports.replica(shard, 0)
    return ports


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA the stack's servers have never heard of."""
    return make_ca(tmp_path_factory.mktemp("other-ca"), "someone else's CA")[0]


def test_every_server_verifies_against_the_stack_ca_and_its_address(local_stack: LocalStack) -> None:
    context = verifying_context(local_stack.ca_cert)
    seconds: dict[str, float] = {}
    for name, port in _endpoints(local_stack).items():
        for host in ("127.0.0.1", "localhost"):
            _tls_handshake(port, context, host)
        seconds[name] = statistics.median(_tls_handshake(port, context, "127.0.0.1") for _ in range(15))
    figures = {name: f"{value * 1000:.2f} ms" for name, value in seconds.items()}
    print(f"\nTLS handshake (median of 15, verify-full, ECDSA P-256): {figures}", file=sys.stderr)


def test_a_wrong_ca_is_refused_everywhere(local_stack: LocalStack, other_ca: Path) -> None:
    context = verifying_context(other_ca)
    for name, port in _endpoints(local_stack).items():
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
            _tls_handshake(port, context, "127.0.0.1")
        assert name


def test_a_wrong_host_name_is_refused(local_stack: LocalStack) -> None:
    context = verifying_context(local_stack.ca_cert)
    for port in _endpoints(local_stack).values():
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            _tls_handshake(port, context, "db.wrong.example")


def test_the_app_driver_refuses_a_wrong_ca(local_stack: LocalStack, other_ca: Path) -> None:
    """asyncpg, as the app's pools configure it: the replica and PgBouncer both refused."""
    user, password = "nexus_app", local_stack.secrets.app_password
    targets = [
        (local_stack.ports.replica("shard-a", 0), "nexus"),
        (local_stack.ports.pgbouncer, local_stack.tenant_map["shards"]["shard-a"]["database"]),
    ]

    async def connect(port: int, database: str, ca: Path) -> Any:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user=user,
            password=password,
            database=database,
            ssl=verifying_context(ca),
            statement_cache_size=0,
            timeout=5,
        )
        try:
            return await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        finally:
            await conn.close()

    for port, database in targets:
        with pytest.raises(ssl.SSLCertVerificationError):
            asyncio.run(connect(port, database, other_ca))
    # The right CA: accepted, and the session is TLS (through PgBouncer: PgBouncer's own server link).
    for port, database in targets:
        assert asyncio.run(connect(port, database, local_stack.ca_cert)) is True


def test_the_migrations_driver_refuses_a_wrong_ca_or_host(local_stack: LocalStack, other_ca: Path) -> None:
    """libpq (psycopg2, as `app.migrate` connects) with the parameters the migrations use."""
    base = {
        "hostaddr": "127.0.0.1",
        "port": local_stack.ports.pgbouncer,
        "user": "nexus_app",
        "password": local_stack.secrets.app_password,
        "dbname": local_stack.tenant_map["shards"]["shard-a"]["database"],
        "connect_timeout": 5,
    }
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(host="127.0.0.1", **base, **libpq_params("verify-full", other_ca))
    with pytest.raises(psycopg2.OperationalError, match=r'does not match host name "db\.wrong\.example"'):
        psycopg2.connect(host="db.wrong.example", **base, **libpq_params("verify-full", local_stack.ca_cert))
    conn = psycopg2.connect(host="127.0.0.1", **base, **libpq_params("verify-full", local_stack.ca_cert))
    conn.close()


def test_plain_tcp_is_refused_by_every_server(local_stack: LocalStack) -> None:
    """Like RDS with rds.force_ssl=1: a client that does not ask for TLS gets no session."""
    for port in _endpoints(local_stack).values():
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(
                host="127.0.0.1",
                port=port,
                user="nexus_app",
                password=local_stack.secrets.app_password,
                dbname="nexus",
                sslmode="disable",
                connect_timeout=5,
            )


def test_the_app_connections_are_tls(local_stack: LocalStack, api: Any, new_user: Any) -> None:
    """After traffic on both shards, every connection on the servers is TLS (replication included), and
    PgBouncer's clients (the app's writer pools) and its server links are too."""
    for tenant in ("acme", "initech"):
        user = new_user(tenant)
        assert api.get("/v1/documents", headers=user.headers).status_code == 200
    query = (
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) "
        "FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr IS NOT NULL"
    )
    for shard in ("shard-a", "shard-b"):
        for replica in (None, 0):
            tls, plain = local_stack.psql(shard, query, replica=replica).split("|")
            assert int(plain) == 0, (shard, replica, tls, plain)
            assert int(tls) > 0, (shard, replica, tls, plain)
    for command in ("SHOW CLIENTS", "SHOW SERVERS"):
        # Tuples only (no header): the `tls` column holds e.g. "TLSv1.3/TLS_AES_256_GCM_SHA384/ECDH=..."
        # for a TLS connection and is empty otherwise.
        rows = [line.split("|") for line in local_stack.pgbouncer_admin(command).splitlines()]
        assert rows, command
        plain = [row for row in rows if not any(field.startswith("TLSv1.") for field in row)]
        assert not plain, (command, plain)
