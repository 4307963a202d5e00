"""Fault controls: stop, start and restart services of a running stack, the way tests break it on purpose.

:class:`FaultControls` is a mixin of :class:`~devstack.LocalStack`, so the controls stay methods of the
stack (``stack.stop_redis()``) while living here, apart from start-up and shutdown.
"""

from __future__ import annotations

import signal

from devstack import app_processes, nginx, pgbouncer, redis_server, shards
from devstack.procs import wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime


class FaultControls:
    """Break and repair the services of a started stack; each control returns once the change holds."""

    _rt: Runtime

    # ----------------------------------------------------------------- data services

    def stop_redis(self) -> None:
        self._rt.stop_named("redis")

    def start_redis(self) -> None:
        redis_server.start(self._rt)
        self._rt.write_services()

    def restart_redis(self) -> None:
        self.stop_redis()
        self.start_redis()

    def stop_replica(self, shard: str, index: int = 0) -> None:
        self._rt.stop_named(shards.replica_name(shard, index))

    def start_replica(self, shard: str, index: int = 0) -> None:
        """Start a stopped replica and wait until it streams again (it catches up from its slot)."""
        shards.start_replica(self._rt, shard, index)
        self._rt.want(shards.replica_name(shard, index))
        self._rt.write_services()

    def restart_primary(self, shard: str, mode: str = "fast") -> None:
        """Restart one primary (fast shutdown by default) and wait until its replicas stream again and
        PgBouncer serves it again.

        PgBouncer may have tried a server login while the primary was down; it then refuses clients with
        ``server_login_retry`` until its next attempt (pgbouncer.org/config.html), so "back" is measured
        through the pooler, not at the server.
        """
        self._rt.services[shards.primary_name(shard)].wanted = False  # down for a moment, on purpose
        shards.restart_primary(self._rt, shard, mode)
        self._rt.want(shards.primary_name(shard))
        self._rt.write_services()
        wait_until(
            lambda: pgbouncer.serves(self._rt, shard), what=f"PgBouncer to {shard}", timeout=HEALTH_TIMEOUT
        )

    def stop_shard(self, shard: str) -> None:
        """Stop a shard's replicas and primary (pg_ctl fast): clients get refused connections."""
        for name in reversed(_shard_service_names(self._rt, shard)):
            self._rt.stop_named(name)

    def start_shard(self, shard: str) -> None:
        """Start a stopped shard's primary and replicas and wait until the replicas stream again."""
        shards.start_stopped(self._rt, shard)
        self._rt.want(*_shard_service_names(self._rt, shard))
        self._rt.write_services()

    def freeze_shard(self, shard: str) -> None:
        """SIGSTOP every process of a shard's primary and replicas: a server that accepts TCP connections
        (the kernel does) but never answers, like a host cut off by the network. Only timeouts notice."""
        shards.signal_shard(self._rt, shard, signal.SIGSTOP)

    def thaw_shard(self, shard: str) -> None:
        """SIGCONT what :meth:`freeze_shard` stopped; the servers go on where they were."""
        shards.signal_shard(self._rt, shard, signal.SIGCONT)

    def restart_pgbouncer(self) -> None:
        """Stop PgBouncer (clients are cut off) and start it again."""
        self._rt.stop_named("pgbouncer")
        pgbouncer.start(self._rt)
        self._rt.write_services()

    def pause_replay(self, shard: str, index: int = 0) -> None:
        """Stop applying WAL on a replica: it keeps receiving, but reads there go stale (replication lag)."""
        self._rt.psql(shard, "SELECT pg_wal_replay_pause()", replica=index)

    def resume_replay(self, shard: str, index: int = 0) -> None:
        self._rt.psql(shard, "SELECT pg_wal_replay_resume()", replica=index)

    # ----------------------------------------------------------------- app processes

    def kill_worker(self, sig: signal.Signals = signal.SIGKILL) -> int | None:
        """Kill the queue worker (SIGKILL by default: no chance to finish its job). Returns its exit code."""
        return self._rt.stop_named("worker", sig=sig)

    def stop_api(self, index: int, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Signal one API instance and wait for it to exit (SIGTERM: graceful). Returns its exit code.

        uvicorn re-raises the signal after a graceful shutdown, so SIGTERM normally yields -15.
        """
        return self._rt.stop_named(f"api-{index}", sig=sig, timeout=timeout)

    def drain_api(self, index: int) -> None:
        """Take one instance out of nginx's upstream (an ALB deregistration); in-flight requests finish."""
        with self._rt.lock:
            self._rt.drained.add(index)
            nginx.reload(self._rt)

    def undrain_api(self, index: int) -> None:
        with self._rt.lock:
            self._rt.drained.discard(index)
            nginx.reload(self._rt)

    def rolling_restart_api(self, index: int) -> int | None:
        """What a Kubernetes rollout does to one pod: deregister, SIGTERM, start anew, register again."""
        self.drain_api(index)
        code = self.stop_api(index)
        app_processes.start_api(self._rt, index)
        self.undrain_api(index)
        return code


def _shard_service_names(rt: Runtime, shard: str) -> list[str]:
    """The primary's service name, then each replica's."""
    replicas = range(rt.topology.shard(shard).read_replicas)
    return [shards.primary_name(shard), *(shards.replica_name(shard, index) for index in replicas)]
