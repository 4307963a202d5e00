"""LocalStack: start, inspect, break and stop the local stack from Python (tests, `python -m devstack`).

LocalStack orchestrates; the work is done by one module per service (shards, redis_server, s3_server,
pgbouncer, app_processes, nginx) over a shared :class:`~devstack.runtime.Runtime`, by the fault controls
of devstack/faults.py (a mixin, so that they stay methods of the stack) and by the work dir's lock,
``down`` and ``clean`` in devstack/lock.py.
"""

from __future__ import annotations

import atexit
import json
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devstack import app_processes, nginx, pgbouncer, redis_server, s3_server, shards
from devstack.appenv import LocalSecrets, local_tenant_map, write_env_file
from devstack.configs import PoolSettings
from devstack.faults import FaultControls
from devstack.layout import (
    DEFAULT_HTTP_PORT,
    DEFAULT_PORT_BASE,
    DEFAULT_STACK_FILE,
    DEFAULT_WORKDIR,
    REPO_ROOT,
    StackPaths,
    servers_dir,
)
from devstack.lock import WorkdirLock, clean, down
from devstack.procs import StartError, give_to, holder_of, port_free, service_user, tail
from devstack.runtime import STOP_ORDER, Runtime, Service, log_stderr
from devstack.supervisor import Backoff, Supervisor
from devstack.topology import PortPlan, Topology, load_topology

# The names callers import from here (python -m devstack, the pytest plugin, tests, bench/).
__all__ = [
    "DEFAULT_HTTP_PORT",
    "DEFAULT_PORT_BASE",
    "DEFAULT_STACK_FILE",
    "DEFAULT_WORKDIR",
    "REPO_ROOT",
    "LocalStack",
    "clean",
    "down",
]

SLOW_STOP_SECONDS = 5.0


class LocalStack(FaultControls):
    """The local stack of real services for one stack file, in one work directory.

    ``with LocalStack(workdir).start() as stack: ...`` stops everything on exit; a start that fails half-way
    stops what it had started before raising.
    """

    def __init__(
        self,
        workdir: Path | str = DEFAULT_WORKDIR,
        stack_file: Path | str = DEFAULT_STACK_FILE,
        *,
        port_base: int = DEFAULT_PORT_BASE,
        http_port: int = DEFAULT_HTTP_PORT,
        ports: PortPlan | None = None,
        api_instances: int = 2,
        api_workers: int = 2,
        pool: PoolSettings | None = None,
        redis_maxmemory: str = "256mb",
        app_env_overrides: dict[str, str] | None = None,
        reset: bool = False,
        log: Callable[[str], None] = log_stderr,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.stack_file = Path(stack_file).resolve()
        topology = load_topology(self.stack_file)
        shard_ids = tuple(shard.id for shard in topology.shards)
        ports = ports or PortPlan(
            base=port_base, http=http_port, api_instances=api_instances, shard_ids=shard_ids
        )
        if ports.shard_ids != shard_ids:
            raise ValueError(f"port plan is for shards {ports.shard_ids}, the stack has {shard_ids}")
        self.reset = reset
        self.timings: dict[str, float] = {}
        user = service_user()
        self._paths = StackPaths(self.workdir, servers=servers_dir(self.workdir, user))
        self._rt = Runtime(
            topology=topology,
            ports=ports,
            paths=self._paths,
            user=user,
            pool=pool or PoolSettings(),
            redis_maxmemory=redis_maxmemory,
            api_workers=api_workers,
            overrides=dict(app_env_overrides or {}),
            log=log,
        )
        self._workdir_lock = WorkdirLock(self._paths)
        self._supervisor: Supervisor | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self, *, data_only: bool = False) -> Self:
        """Start the data services, then (unless ``data_only``) migrations, the API, the worker and nginx."""
        began = time.monotonic()
        self._rt.closed = False
        # A stack its owner forgot to stop (or a crashed test session) is still stopped at exit.
        atexit.register(self.stop)
        try:
            with self._timed("prepare"):
                self._prepare(data_only)
            self._start_data()
            if not data_only:
                self.start_app()
        except BaseException:
            if self._rt.services:  # a busy port, say, is refused before anything starts
                self.log("start failed; stopping what was started")
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - began
        return self

    def start_app(self) -> None:
        """Migrations, the API instances, the worker and nginx on top of running data services."""
        self._refuse_busy_ports(app=True)
        with self._timed("migrations"):
            self.migrate()
        with self._timed("app"), ThreadPoolExecutor(max_workers=self.ports.api_instances + 1) as pool:
            futures = [pool.submit(self.start_api, i) for i in range(self.ports.api_instances)]
            futures.append(pool.submit(self.start_worker))
            _gather(futures)
        with self._timed("nginx"):
            nginx.start(self._rt)
        worker = self._rt.services["worker"]
        if worker.proc is None or worker.proc.poll() is not None:
            raise StartError(f"the worker exited during start-up:\n{tail(worker.log_path)}")
        self._rt.write_services()

    def migrate(self) -> None:
        """Run ``python -m app.migrate`` (every shard, through the writer endpoint)."""
        app_processes.migrate(self._rt)

    def start_api(self, index: int) -> None:
        """Start API instance ``index`` (``python -m app.serve``) and wait for its /readyz."""
        app_processes.start_api(self._rt, index)

    def start_worker(self) -> None:
        """Start the queue worker (``python -m app.worker``)."""
        app_processes.start_worker(self._rt)

    def supervise(self, backoff: Backoff | None = None) -> None:
        """Watch the started stack until :meth:`stop`: report a service that dies at once, restart the API
        instances and the worker with back-off (devstack/supervisor.py)."""
        if self._supervisor is None:
            self._supervisor = Supervisor(self._rt, self._restart, backoff=backoff)
            self._supervisor.start()

    def _restart(self, service: Service) -> None:
        """Start a dead API instance or worker again; one that does not come up is stopped again."""
        try:
            if service.role == "api":
                app_processes.start_api(self._rt, int(service.name.removeprefix("api-")))
            elif service.role == "worker":
                app_processes.start_worker(self._rt)
            else:
                raise ValueError(f"{service.name}: role {service.role!r} is not restarted")
        except BaseException:
            with self._rt.lock:
                spawned = self._rt.services.get(service.name)
            if spawned is not None and spawned is not service and spawned.pid() is not None:
                self._rt.stop_service(spawned)
                spawned.wanted = True  # still wanted: the next attempt replaces it
            raise

    def stop(self) -> None:
        """Stop every service this object started, in dependency order. Safe to call twice."""
        atexit.unregister(self.stop)
        rt = self._rt
        with rt.lock:
            rt.closed = True  # a restart under way may not spawn any more
        if self._supervisor is not None:
            self._supervisor.stop()
            self._supervisor = None
        with rt.lock:
            ordered = sorted(rt.services.values(), key=lambda s: STOP_ORDER.index(s.role))
            for service in ordered:
                began = time.monotonic()
                try:
                    rt.stop_service(service)
                except Exception as exc:
                    self.log(f"stopping {service.name} failed: {exc}")
                took = time.monotonic() - began
                if took > SLOW_STOP_SECONDS:
                    self.log(f"stopping {service.name} took {took:.1f}s (see {service.log_path})")
            rt.services.clear()
            self._workdir_lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- settings

    @property
    def topology(self) -> Topology:
        return self._rt.topology

    @property
    def ports(self) -> PortPlan:
        return self._rt.ports

    @property
    def pool(self) -> PoolSettings:
        return self._rt.pool

    @property
    def log(self) -> Callable[[str], None]:
        return self._rt.log

    # ----------------------------------------------------------------- information

    @property
    def services_root(self) -> Path:
        """Where the data servers keep their state and logs (the work dir unless it is unreachable)."""
        return self._paths.servers

    @property
    def url(self) -> str:
        """The API as clients see it (through nginx)."""
        return nginx.url(self.ports)

    def api_url(self, index: int) -> str:
        """One API instance directly, bypassing nginx."""
        return app_processes.api_url(self.ports, index)

    @property
    def secrets(self) -> LocalSecrets:
        return self._rt.secrets

    @property
    def tenant_map(self) -> dict[str, Any]:
        """The tenant map the app reads (loopback endpoints)."""
        return local_tenant_map(self.topology, self.ports)

    @property
    def app_env(self) -> dict[str, str]:
        """The NEXUS_* environment given to the API, the worker and the migrations."""
        return self._rt.app_env

    @property
    def ca_cert(self) -> Path:
        """The local CA's certificate: every Postgres server and PgBouncer present one it signed."""
        return self._rt.ca_cert

    @property
    def redis_url(self) -> str:
        return redis_server.url(self.ports)

    @property
    def s3_endpoint(self) -> str:
        return s3_server.endpoint(self.ports)

    @property
    def s3_bucket(self) -> str:
        return self.app_env["NEXUS_S3_BUCKET"]

    def primary_dsn(self, shard: str, *, superuser: bool = False) -> str:
        """The shard's primary, directly (app role by default; the superuser for inspection)."""
        database = self.topology.shard(shard).database
        return self._dsn(self.ports.primary(shard), database, superuser)

    def replica_dsn(self, shard: str, index: int = 0, *, superuser: bool = False) -> str:
        """One replica of the shard, directly."""
        self._rt.check_replica(shard, index)
        database = self.topology.shard(shard).database
        return self._dsn(self.ports.replica(shard, index), database, superuser)

    def pgbouncer_dsn(self, shard: str) -> str:
        """The shard's writer endpoint: PgBouncer's alias for it (transaction pooling)."""
        return pgbouncer.dsn(self._rt, shard)

    def psql(self, shard: str, sql: str, *, replica: int | None = None, superuser: bool = True) -> str:
        """Run SQL on a shard's primary (or replica) with psql; tuples-only, '|'-separated output."""
        return self._rt.psql(shard, sql, replica=replica, superuser=superuser)

    def pgbouncer_admin(self, command: str) -> str:
        """Run an admin console command (e.g. ``SHOW POOLS``) and return psql's unaligned output."""
        return pgbouncer.admin(self._rt, command)

    def services(self) -> list[dict[str, Any]]:
        """What services.json lists: name, pid, port, role and log of each service."""
        return self._rt.records()

    def log_path(self, name: str) -> Path:
        return self._rt.services[name].log_path

    # ----------------------------------------------------------------- start-up internals

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.timings[phase] = time.monotonic() - began

    def _prepare(self, data_only: bool) -> None:
        paths = self._paths
        if self.reset and paths.root.exists():
            self._workdir_lock.refuse_if_taken()
            shutil.rmtree(paths.root)
            shutil.rmtree(paths.servers, ignore_errors=True)
        paths.root.mkdir(parents=True, exist_ok=True)
        self._workdir_lock.refuse_if_taken()
        if paths.services_json.exists():
            self.log("a previous run left services behind; stopping them first")
            down(paths.root, log=self.log)
        self._refuse_busy_ports(data=True, app=not data_only)
        self._workdir_lock.take()
        if paths.servers != paths.root:
            paths.link_server_dirs(self._rt.user, self.log)
        give_to(self._rt.user, *paths.server_dirs, paths.nginx / "temp")
        self._rt.load_secrets()
        self._rt.prepare_tls()

    def _refuse_busy_ports(self, *, data: bool = False, app: bool = False) -> None:
        """Before anything starts: every port it will bind must be free, or the start fails naming each busy
        one, the service it was for, and who holds it when that can be seen."""
        with self._rt.lock:
            running = {name for name, service in self._rt.services.items() if service.pid() is not None}
        busy = [
            (name, port)
            for name, port in self.ports.named_ports(self.topology).items()
            if (app if name == "nginx" or name.startswith("api-") else data)
            and name not in running
            and not port_free(port)
        ]
        if busy:
            lines = [f"port {port} ({name}) is in use{holder_of(port)}" for name, port in busy]
            raise StartError(
                "; ".join(lines) + "; stop what holds it, or choose other ports "
                "(--http-port for nginx, --port-base for the rest; docs/local.md)"
            )

    def _start_data(self) -> None:
        rt = self._rt
        shard_plans = self.topology.shards
        with self._timed("data"), ThreadPoolExecutor(max_workers=len(shard_plans) + 2) as pool:
            futures = [pool.submit(shards.start_shard, rt, shard.id) for shard in shard_plans]
            futures.append(pool.submit(redis_server.start, rt))
            futures.append(pool.submit(s3_server.start, rt))
            _gather(futures)
        with self._timed("pgbouncer"):
            pgbouncer.start(rt)
        self._paths.tenant_map.write_text(json.dumps(self.tenant_map, indent=2) + "\n")
        write_env_file(self._paths.env_file, self.app_env)
        rt.write_services()

    def _dsn(self, port: int, database: str, superuser: bool) -> str:
        user, password = self._rt.pg_login(superuser)
        return f"postgresql://{user}:{password}@127.0.0.1:{port}/{database}"


def _gather(futures: list[Future[None]]) -> None:
    """Wait for every future (each is bounded by its own timeouts), then raise the first failure."""
    errors = [exc for exc in (future.exception() for future in futures) if exc is not None]
    if errors:
        raise errors[0]
