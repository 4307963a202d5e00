"""PostgreSQL 15 primaries and streaming replicas on loopback, driven by initdb/pg_ctl/pg_basebackup."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devstack.procs import ServiceUser, StartError, run, tail
from devstack.tls import ServerCert

PG_BIN = Path(os.environ.get("NEXUS_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
APP_ROLE = "nexus_app"
OWNER_ROLE = "nexus_owner"
APP_DATABASE = "nexus"


@dataclass(frozen=True, kw_only=True)
class PgInstance:
    """One Postgres server of the local stack."""

    name: str
    """Service name, e.g. ``postgres:shard-a:primary``."""
    datadir: Path
    port: int
    log_path: Path
    tls: ServerCert | None = None
    """The server's certificate and key; every start (re)writes the TLS settings to use them."""

    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid (None when stopped)."""
        try:
            first = (self.datadir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None


def render_conf(port: int, tls: ServerCert | None = None) -> str:
    """postgresql.conf of a local server. Primaries and replicas share it; the port and the certificate
    differ. With a certificate, TLS is on and pg_hba.conf accepts TLS connections only (RDS for
    PostgreSQL 15 has rds.force_ssl=1 by default)."""
    ssl = (
        f"""ssl = on
ssl_cert_file = '{tls.cert}'
ssl_key_file = '{tls.key}'
ssl_min_protocol_version = 'TLSv1.2'
"""
        if tls is not None
        else "ssl = off\n"
    )
    return f"""# Written by devstack; rewritten on every start.
listen_addresses = '127.0.0.1'
port = {port}
# TCP only: no socket file in /var/run, nothing shared with the system Postgres.
unix_socket_directories = ''
max_connections = 200
shared_buffers = 64MB
password_encryption = scram-sha-256
# A throwaway local server: skipping fsync makes initdb, checkpoints and shutdowns fast. A fast
# (clean) shutdown still writes everything, so restart tests keep every acknowledged commit.
fsync = off
full_page_writes = off
synchronous_commit = on
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
# Report queries on replicas are not cancelled by vacuum on the primary.
hot_standby_feedback = on
wal_receiver_status_interval = 1s
# A standby whose primary restarted reconnects within half a second (default 5 s).
wal_retrieve_retry_interval = 500ms
logging_collector = off
log_min_messages = warning
log_connections = off
log_line_prefix = '%m [%p] %q%u@%d '
{ssl}"""


def render_hba(tls: bool) -> str:
    """Loopback only, passwords (SCRAM) for everyone; with TLS on, only over TLS (`hostssl`): a client
    that does not ask for TLS is refused, replication included."""
    kind = "hostssl" if tls else "host"
    return f"""# Written by devstack.
{kind:<8}all             all             127.0.0.1/32            scram-sha-256
{kind:<8}replication     {SUPERUSER}     127.0.0.1/32            scram-sha-256
"""


def _pg(tool: str) -> str:
    return str(PG_BIN / tool)


def _pg_env(superuser_password: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PGPASSWORD=superuser_password, PGCONNECT_TIMEOUT="5")
    return env


def write_config(inst: PgInstance, user: ServiceUser) -> None:
    """(Re)write postgresql.conf and pg_hba.conf so that a changed port plan takes effect."""
    files = (
        ("postgresql.conf", render_conf(inst.port, inst.tls)),
        ("pg_hba.conf", render_hba(inst.tls is not None)),
    )
    for name, text in files:
        path = inst.datadir / name
        path.write_text(text)
        if not user.is_current:
            os.chown(path, user.uid, user.gid)


def initdb(inst: PgInstance, user: ServiceUser, superuser_password: str) -> None:
    """Create a cluster owned by the service user, with a SCRAM superuser password."""
    pwfile = inst.datadir.parent / f".{inst.datadir.name}.pw"
    pwfile.write_text(superuser_password + "\n")
    pwfile.chmod(0o600)
    if not user.is_current:
        os.chown(pwfile, user.uid, user.gid)
    try:
        run(
            [
                _pg("initdb"),
                "--no-sync",
                # 1 MiB WAL segments instead of 16: a fresh cluster and its base backup are half the size,
                # which is what start-up, --reset and test teardown spend their time writing and deleting.
                "--wal-segsize=1",
                "-D",
                str(inst.datadir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            user=user,
            what=f"initdb for {inst.name}",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    write_config(inst, user)


def start(inst: PgInstance, user: ServiceUser, timeout: int = 60) -> None:
    """Start and wait (pg_ctl -w) until the server accepts connections."""
    write_config(inst, user)
    try:
        run(
            [
                _pg("pg_ctl"),
                "start",
                "-w",
                "-t",
                str(timeout),
                "-D",
                str(inst.datadir),
                "-l",
                str(inst.log_path),
            ],
            user=user,
            timeout=timeout + 10,
            what=f"pg_ctl start {inst.name}",
        )
    except StartError as exc:
        raise StartError(f"{exc}\nlast lines of {inst.log_path}:\n{tail(inst.log_path)}") from exc


def stop(inst: PgInstance, user: ServiceUser, mode: str = "fast", timeout: int = 60) -> None:
    """Stop if running (fast: roll back open transactions, checkpoint, exit)."""
    if inst.pid() is None:
        return
    run(
        [_pg("pg_ctl"), "stop", "-w", "-t", str(timeout), "-m", mode, "-D", str(inst.datadir)],
        user=user,
        timeout=timeout + 10,
        what=f"pg_ctl stop {inst.name}",
    )


def restart(inst: PgInstance, user: ServiceUser, mode: str = "fast", timeout: int = 60) -> None:
    """Fast restart of one server (what an RDS reboot or failover looks like to clients)."""
    stop(inst, user, mode=mode, timeout=timeout)
    start(inst, user, timeout=timeout)


def psql(port: int, sql: str, *, password: str, database: str = "postgres", user: str = SUPERUSER) -> str:
    """Run SQL with psql over TCP; returns unaligned, tuples-only output."""
    return run(
        [
            _pg("psql"),
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            database,
            "-c",
            sql,
        ],
        env=_pg_env(password),
        timeout=60,
        what=f"psql on port {port}",
    ).strip()


def create_app_database(
    primary: PgInstance,
    *,
    superuser_password: str,
    owner_password: str,
    app_password: str,
    database: str = APP_DATABASE,
) -> None:
    """The shard's database, owned by the owner role (what RDS's master user is: no superuser, but it may
    create roles), and the app role the API and the worker log in as: it owns nothing and has no
    attribute beyond LOGIN. The migrations (as the owner) create the tables and grant the app role DML
    on them; they would also create the app role if it were missing, as they do in AWS."""
    psql(
        primary.port,
        f"CREATE ROLE {OWNER_ROLE} LOGIN PASSWORD '{owner_password}' "
        "NOSUPERUSER NOCREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS",
        password=superuser_password,
    )
    psql(
        primary.port,
        f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{app_password}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        password=superuser_password,
    )
    psql(primary.port, f"CREATE DATABASE {database} OWNER {OWNER_ROLE}", password=superuser_password)


def slot_name(replica_index: int) -> str:
    return f"replica_{replica_index}"


def base_backup(
    primary: PgInstance, replica: PgInstance, replica_index: int, user: ServiceUser, superuser_password: str
) -> None:
    """Clone the primary into a standby that streams from a replication slot (-R writes the conninfo).

    The slot makes the primary keep WAL while the replica is stopped, so a fault test that stops a
    replica for a while sees it catch up instead of needing a rebuild.
    """
    slot = slot_name(replica_index)
    psql(
        primary.port,
        # The slot name is ours (replica_<n>), not user input.
        f"SELECT pg_drop_replication_slot('{slot}') FROM pg_replication_slots WHERE slot_name = '{slot}'",  # noqa: S608
        password=superuser_password,
    )
    run(
        [
            _pg("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(replica.datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-C",
            "-S",
            slot,
            "--no-sync",
        ],
        user=user,
        env=_pg_env(superuser_password),
        what=f"pg_basebackup for {replica.name}",
    )
    write_config(replica, user)
