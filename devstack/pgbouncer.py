"""PgBouncer: the shards' writer endpoint (transaction pooling), and its admin console."""

from __future__ import annotations

from devstack import configs, postgres
from devstack.postgres import APP_ROLE
from devstack.procs import StartError, port_open, wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime


def dsn(rt: Runtime, shard: str) -> str:
    """The shard's writer endpoint: PgBouncer's alias for it, as the app role."""
    alias = rt.topology.shard(shard).alias
    user, password = rt.pg_login(superuser=False)
    return f"postgresql://{user}:{password}@127.0.0.1:{rt.ports.pgbouncer}/{alias}"


def serves(rt: Runtime, shard: str) -> bool:
    """Whether a query through PgBouncer reaches the shard's primary now."""
    alias = rt.topology.shard(shard).alias
    try:
        postgres.psql(
            rt.ports.pgbouncer, "SELECT 1", password=rt.secrets.app_password, user=APP_ROLE, database=alias
        )
    except StartError:
        return False
    return True


def admin(rt: Runtime, command: str) -> str:
    """Run an admin console command (e.g. ``SHOW POOLS``) and return psql's unaligned output."""
    return postgres.psql(
        rt.ports.pgbouncer,
        command,
        password=rt.secrets.pgbouncer_admin_password,
        user=configs.PGBOUNCER_ADMIN,
        database="pgbouncer",
    )


def start(rt: Runtime) -> None:
    """Write the userlist and the ini, start PgBouncer, and connect through it to every shard."""
    directory = rt.paths.pgbouncer
    userlist = directory / "userlist.txt"
    ini = directory / "pgbouncer.ini"
    userlist.write_text(
        configs.pgbouncer_userlist(
            rt.secrets.app_password, rt.secrets.pgbouncer_admin_password, rt.secrets.owner_password
        )
    )
    userlist.chmod(0o600)
    ini.write_text(
        configs.pgbouncer_ini(
            ports=rt.ports,
            topology=rt.topology,
            pool=rt.pool,
            userlist=userlist,
            pidfile=directory / "pgbouncer.pid",
            tls=rt.server_cert("pgbouncer"),
            ca_cert=rt.ca_cert,
        )
    )
    rt.chown_to_service_user(userlist, ini)
    port = rt.ports.pgbouncer
    service = rt.spawn(
        "pgbouncer", "pgbouncer", port, ["pgbouncer", str(ini)], as_service_user=True, marker="pgbouncer"
    )
    wait_until(
        lambda: port_open(port),
        what="pgbouncer",
        timeout=HEALTH_TIMEOUT,
        proc=service.proc,
        log_path=service.log_path,
    )
    # Through the pooler to every shard: proves the aliases, the userlist and SCRAM on both sides.
    for shard in rt.topology.shards:
        postgres.psql(port, "SELECT 1", password=rt.secrets.app_password, user=APP_ROLE, database=shard.alias)
