"""Each shard's Postgres: the primary, its streaming replicas, and waiting until they stream.

devstack/postgres.py drives one server (initdb, pg_ctl, pg_basebackup); this module puts a shard's servers
together and registers them as services of the stack.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

from devstack import postgres
from devstack.postgres import PgInstance
from devstack.procs import StartError, give_to, wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime, Service


def primary_name(shard: str) -> str:
    return f"postgres:{shard}:primary"


def replica_name(shard: str, index: int) -> str:
    return f"postgres:{shard}:replica-{index}"


def _instance(rt: Runtime, name: str, datadir_name: str, shard_id: str, port: int) -> PgInstance:
    return PgInstance(
        name=name,
        datadir=rt.paths.pg / shard_id / datadir_name,
        port=port,
        log_path=rt.paths.log_file(name),
        tls=rt.server_cert(name),
    )


def start_shard(rt: Runtime, shard_id: str) -> None:
    """Start the primary and its replicas (initdb and a base backup per replica on a fresh work dir)."""
    shard = rt.topology.shard(shard_id)
    give_to(rt.user, rt.paths.pg / shard_id)
    primary = _instance(rt, primary_name(shard_id), "primary", shard_id, rt.ports.primary(shard_id))
    rt.register(
        Service(name=primary.name, role="primary", port=primary.port, log_path=primary.log_path, pg=primary)
    )
    fresh = not primary.initialised
    if fresh:
        # A half-made directory from an interrupted run would make initdb refuse.
        shutil.rmtree(primary.datadir, ignore_errors=True)
        postgres.initdb(primary, rt.user, rt.secrets.superuser_password)
    postgres.start(primary, rt.user)
    if fresh:
        postgres.create_app_database(
            primary,
            superuser_password=rt.secrets.superuser_password,
            owner_password=rt.secrets.owner_password,
            app_password=rt.secrets.app_password,
            database=shard.database,
        )
    for index in range(shard.read_replicas):
        replica = _instance(
            rt, replica_name(shard_id, index), f"replica-{index}", shard_id, rt.ports.replica(shard_id, index)
        )
        rt.register(
            Service(
                name=replica.name, role="replica", port=replica.port, log_path=replica.log_path, pg=replica
            )
        )
        if fresh or not replica.initialised:
            shutil.rmtree(replica.datadir, ignore_errors=True)
            postgres.base_backup(primary, replica, index, rt.user, rt.secrets.superuser_password)
        _start_replica_instance(rt, shard_id, replica)
    wait_streaming(rt, shard_id)


def start_replica(rt: Runtime, shard_id: str, index: int) -> None:
    """Start a stopped replica and wait until it streams again (it catches up from its slot)."""
    service = rt.services[replica_name(shard_id, index)]
    assert service.pg is not None
    _start_replica_instance(rt, shard_id, service.pg)
    wait_streaming(rt, shard_id)


def restart_primary(rt: Runtime, shard_id: str, mode: str) -> None:
    """Restart one primary and wait until its replicas stream again."""
    service = rt.services[primary_name(shard_id)]
    assert service.pg is not None
    postgres.restart(service.pg, rt.user, mode=mode)
    wait_streaming(rt, shard_id)


def start_stopped(rt: Runtime, shard_id: str) -> None:
    """Start whatever of a shard's servers is stopped, the primary first, and wait until they stream."""
    names = [primary_name(shard_id)]
    names += [replica_name(shard_id, i) for i in range(rt.topology.shard(shard_id).read_replicas)]
    for name in names:
        service = rt.services[name]
        assert service.pg is not None
        if service.pg.pid() is not None:
            continue
        if service.role == "primary":
            postgres.start(service.pg, rt.user)
        else:
            _start_replica_instance(rt, shard_id, service.pg)
    wait_streaming(rt, shard_id)


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc), parents first."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += _process_tree(int(child))
    return found


def signal_shard(rt: Runtime, shard_id: str, sig: signal.Signals) -> None:
    """Send `sig` to every process of the shard's servers (postmasters and their backends)."""
    names = [primary_name(shard_id)]
    names += [replica_name(shard_id, i) for i in range(rt.topology.shard(shard_id).read_replicas)]
    for name in names:
        pid = rt.services[name].pid()
        if pid is None:
            continue
        # Children first on SIGSTOP would let the postmaster fork a new one in between: stop it first.
        for each in _process_tree(pid):
            os.kill(each, sig)


def _start_replica_instance(rt: Runtime, shard_id: str, replica: PgInstance) -> None:
    # pg_basebackup -R wrote the primary's port into the standby's conninfo; a changed port plan must
    # be carried over, or the standby would stream from a port nobody listens on.
    auto_conf = replica.datadir / "postgresql.auto.conf"
    text = auto_conf.read_text()
    auto_conf.write_text(re.sub(r"\bport=\d+", f"port={rt.ports.primary(shard_id)}", text))
    postgres.start(replica, rt.user)


def wait_streaming(rt: Runtime, shard_id: str) -> None:
    """Wait until the primary reports every running replica of the shard as streaming."""
    running = [
        index
        for index in range(rt.topology.shard(shard_id).read_replicas)
        if (service := rt.services.get(replica_name(shard_id, index))) is not None
        and service.pid() is not None
    ]
    if not running:
        return
    sql = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"

    def streaming() -> bool:
        try:
            return int(rt.psql(shard_id, sql)) >= len(running)
        except StartError:
            return False  # the primary is still coming up

    wait_until(
        streaming,
        what=f"replication of {shard_id}",
        timeout=HEALTH_TIMEOUT,
        log_path=rt.services[replica_name(shard_id, running[0])].log_path,
    )
