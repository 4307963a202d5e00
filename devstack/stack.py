"""LocalStack: start, inspect, break and stop the local stack from Python (tests, `python -m devstack`)."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devstack import configs, postgres
from devstack.appenv import LocalSecrets, app_environment, local_tenant_map, write_env_file
from devstack.configs import PoolSettings
from devstack.postgres import APP_ROLE, SUPERUSER, PgInstance
from devstack.procs import (
    ServiceUser,
    StartError,
    give_to,
    http_status,
    pid_alive,
    pid_cmdline,
    port_open,
    reachable_by,
    run,
    service_user,
    spawn,
    stop_child,
    stop_pid,
    tail,
    wait_until,
)
from devstack.topology import PortPlan, Topology, load_topology

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK_FILE = REPO_ROOT / "Pulumi.dev.yaml"
DEFAULT_WORKDIR = REPO_ROOT / ".local"
DEFAULT_PORT_BASE = 25400
DEFAULT_HTTP_PORT = 8080
HEALTH_TIMEOUT = 60.0
SLOW_STOP_SECONDS = 5.0

# Stop order: traffic first, then the app, then what the app depends on.
_STOP_ORDER = ("nginx", "api", "worker", "pgbouncer", "replica", "primary", "redis", "s3")


def _log_stderr(message: str) -> None:
    # A closed stderr (a `| tee` killed by the same Ctrl-C) must not interrupt a stop half-way.
    with contextlib.suppress(OSError):
        print(f"devstack: {message}", file=sys.stderr, flush=True)


@dataclass(kw_only=True)
class Service:
    """One running (or stopped) service of the stack."""

    name: str
    role: str
    """One of _STOP_ORDER."""
    port: int | None
    """None for the worker, which listens on nothing."""
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    pg: PgInstance | None = None
    marker: str = ""
    """A word of the command line, checked before `devstack down` signals a recorded pid."""

    def pid(self) -> int | None:
        if self.pg is not None:
            return self.pg.pid()
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        return None

    def record(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "pid": self.pid(),
            "port": self.port,
            "role": self.role,
            "log": str(self.log_path),
        }
        if self.pg is not None:
            entry["datadir"] = str(self.pg.datadir)
        else:
            entry["marker"] = self.marker
        return entry


@dataclass
class _Paths:
    root: Path
    """The work directory: listings, the env file, secrets (and, normally, everything else)."""
    servers: Path
    """Where the data servers keep state and logs: ``root``, unless the service user cannot reach it."""
    pg: Path = field(init=False)
    logs: Path = field(init=False)
    pgbouncer: Path = field(init=False)
    redis: Path = field(init=False)
    nginx: Path = field(init=False)

    def __post_init__(self) -> None:
        self.pg = self.servers / "pg"
        self.logs = self.servers / "logs"
        self.pgbouncer = self.servers / "pgbouncer"
        self.redis = self.servers / "redis"
        self.nginx = self.servers / "nginx"

    @property
    def server_dirs(self) -> tuple[Path, ...]:
        return (self.pg, self.logs, self.pgbouncer, self.redis, self.nginx)

    @property
    def services_json(self) -> Path:
        return self.root / "services.json"

    @property
    def tenant_map(self) -> Path:
        return self.root / "tenant-map.json"

    @property
    def env_file(self) -> Path:
        return self.root / "app.env"

    @property
    def lock(self) -> Path:
        return self.root / "devstack.pid"


class LocalStack:
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
        log: Callable[[str], None] = _log_stderr,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.stack_file = Path(stack_file).resolve()
        self.topology: Topology = load_topology(self.stack_file)
        shard_ids = tuple(shard.id for shard in self.topology.shards)
        self.ports = ports or PortPlan(
            base=port_base, http=http_port, api_instances=api_instances, shard_ids=shard_ids
        )
        if self.ports.shard_ids != shard_ids:
            raise ValueError(f"port plan is for shards {self.ports.shard_ids}, the stack has {shard_ids}")
        self.api_workers = api_workers
        self.pool = pool or PoolSettings()
        self.redis_maxmemory = redis_maxmemory
        self.reset = reset
        self.log = log
        self.timings: dict[str, float] = {}
        self._overrides = dict(app_env_overrides or {})
        self._user: ServiceUser = service_user()
        self._paths = _Paths(self.workdir, servers=_servers_dir(self.workdir, self._user))
        self._secrets: LocalSecrets | None = None
        self._services: dict[str, Service] = {}
        self._drained: set[int] = set()
        self._lock = threading.RLock()
        self._owns_lock_file = False
        # Tells this object's lock from another LocalStack's in the same process.
        self._token = secrets.token_hex(8)

    # ----------------------------------------------------------------- lifecycle

    def start(self, *, data_only: bool = False) -> Self:
        """Start the data services, then (unless ``data_only``) migrations, the API, the worker and nginx."""
        began = time.monotonic()
        # A stack its owner forgot to stop (or a crashed test session) is still stopped at exit.
        atexit.register(self.stop)
        try:
            with self._timed("prepare"):
                self._prepare()
            self._start_data()
            if not data_only:
                self.start_app()
        except BaseException:
            self.log("start failed; stopping what was started")
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - began
        return self

    def start_app(self) -> None:
        """Migrations, the API instances, the worker and nginx on top of running data services."""
        with self._timed("migrations"):
            self.migrate()
        with self._timed("app"), ThreadPoolExecutor(max_workers=self.ports.api_instances + 1) as pool:
            futures = [pool.submit(self.start_api, i) for i in range(self.ports.api_instances)]
            futures.append(pool.submit(self.start_worker))
            _gather(futures)
        with self._timed("nginx"):
            self._start_nginx()
        worker = self._services["worker"]
        if worker.proc is None or worker.proc.poll() is not None:
            raise StartError(f"the worker exited during start-up:\n{tail(worker.log_path)}")
        self._write_services()

    def stop(self) -> None:
        """Stop every service this object started, in dependency order. Safe to call twice."""
        atexit.unregister(self.stop)
        with self._lock:
            ordered = sorted(self._services.values(), key=lambda s: _STOP_ORDER.index(s.role))
            for service in ordered:
                began = time.monotonic()
                try:
                    self._stop_service(service)
                except Exception as exc:
                    self.log(f"stopping {service.name} failed: {exc}")
                took = time.monotonic() - began
                if took > SLOW_STOP_SECONDS:
                    self.log(f"stopping {service.name} took {took:.1f}s (see {service.log_path})")
            self._services.clear()
            # Only the run that owns the work dir removes its listing: a start refused because another
            # run is active must leave that run's services.json alone.
            if self._owns_lock_file:
                self._paths.services_json.unlink(missing_ok=True)
                self._paths.lock.unlink(missing_ok=True)
                self._owns_lock_file = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- information

    @property
    def services_root(self) -> Path:
        """Where the data servers keep their state and logs (the work dir unless it is unreachable)."""
        return self._paths.servers

    @property
    def url(self) -> str:
        """The API as clients see it (through nginx)."""
        return f"http://127.0.0.1:{self.ports.http}"

    def api_url(self, index: int) -> str:
        """One API instance directly, bypassing nginx."""
        return f"http://127.0.0.1:{self.ports.api(index)}"

    @property
    def secrets(self) -> LocalSecrets:
        if self._secrets is None:
            raise RuntimeError("the stack has not been started")
        return self._secrets

    @property
    def tenant_map(self) -> dict[str, Any]:
        """The tenant map the app reads (loopback endpoints)."""
        return local_tenant_map(self.topology, self.ports)

    @property
    def app_env(self) -> dict[str, str]:
        """The NEXUS_* environment given to the API, the worker and the migrations."""
        return app_environment(
            topology=self.topology,
            ports=self.ports,
            secrets_=self.secrets,
            tenant_map_file=self._paths.tenant_map,
            api_workers=self.api_workers,
            overrides=self._overrides,
        )

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.s3}"

    @property
    def s3_bucket(self) -> str:
        return self.app_env["NEXUS_S3_BUCKET"]

    def primary_dsn(self, shard: str, *, superuser: bool = False) -> str:
        """The shard's primary, directly (app role by default; the superuser for inspection)."""
        database = self.topology.shard(shard).database
        return self._dsn(self.ports.primary(shard), database, superuser)

    def replica_dsn(self, shard: str, index: int = 0, *, superuser: bool = False) -> str:
        """One replica of the shard, directly."""
        self._check_replica(shard, index)
        database = self.topology.shard(shard).database
        return self._dsn(self.ports.replica(shard, index), database, superuser)

    def pgbouncer_dsn(self, shard: str) -> str:
        """The shard's writer endpoint: PgBouncer's alias for it (transaction pooling)."""
        return self._dsn(self.ports.pgbouncer, self.topology.shard(shard).alias, superuser=False)

    def pgbouncer_admin_dsn(self) -> str:
        """PgBouncer's admin console (SHOW POOLS, SHOW STATS, ...)."""
        password = self.secrets.pgbouncer_admin_password
        return f"postgresql://{configs.PGBOUNCER_ADMIN}:{password}@127.0.0.1:{self.ports.pgbouncer}/pgbouncer"

    def psql(self, shard: str, sql: str, *, replica: int | None = None, superuser: bool = True) -> str:
        """Run SQL on a shard's primary (or replica) with psql; tuples-only, '|'-separated output."""
        database = self.topology.shard(shard).database
        if replica is None:
            port = self.ports.primary(shard)
        else:
            self._check_replica(shard, replica)
            port = self.ports.replica(shard, replica)
        user, password = (
            (SUPERUSER, self.secrets.superuser_password)
            if superuser
            else (APP_ROLE, self.secrets.app_password)
        )
        return postgres.psql(port, sql, password=password, user=user, database=database)

    def pgbouncer_admin(self, command: str) -> str:
        """Run an admin console command (e.g. ``SHOW POOLS``) and return psql's unaligned output."""
        return postgres.psql(
            self.ports.pgbouncer,
            command,
            password=self.secrets.pgbouncer_admin_password,
            user=configs.PGBOUNCER_ADMIN,
            database="pgbouncer",
        )

    def services(self) -> list[dict[str, Any]]:
        """What services.json lists: name, pid, port, role and log of each service."""
        with self._lock:
            return [service.record() for service in self._services.values()]

    def log_path(self, name: str) -> Path:
        return self._services[name].log_path

    # ----------------------------------------------------------------- fault controls

    def stop_redis(self) -> None:
        self._stop_named("redis")

    def start_redis(self) -> None:
        self._start_redis()
        self._write_services()

    def restart_redis(self) -> None:
        self.stop_redis()
        self.start_redis()

    def stop_replica(self, shard: str, index: int = 0) -> None:
        self._stop_named(_replica_name(shard, index))

    def start_replica(self, shard: str, index: int = 0) -> None:
        """Start a stopped replica and wait until it streams again (it catches up from its slot)."""
        service = self._services[_replica_name(shard, index)]
        assert service.pg is not None
        self._start_replica_instance(shard, index, service.pg)
        self._wait_streaming(shard)
        self._write_services()

    def restart_primary(self, shard: str, mode: str = "fast") -> None:
        """Restart one primary (fast shutdown by default) and wait until its replicas stream again."""
        service = self._services[_primary_name(shard)]
        assert service.pg is not None
        postgres.restart(service.pg, self._user, mode=mode)
        self._wait_streaming(shard)
        self._write_services()

    def restart_pgbouncer(self) -> None:
        """Stop PgBouncer (clients are cut off) and start it again."""
        self._stop_named("pgbouncer")
        self._start_pgbouncer()
        self._write_services()

    def pause_replay(self, shard: str, index: int = 0) -> None:
        """Stop applying WAL on a replica: it keeps receiving, but reads there go stale (replication lag)."""
        self.psql(shard, "SELECT pg_wal_replay_pause()", replica=index)

    def resume_replay(self, shard: str, index: int = 0) -> None:
        self.psql(shard, "SELECT pg_wal_replay_resume()", replica=index)

    def kill_worker(self, sig: signal.Signals = signal.SIGKILL) -> int | None:
        """Kill the queue worker (SIGKILL by default: no chance to finish its job). Returns its exit code."""
        return self._stop_named("worker", sig=sig)

    def stop_api(self, index: int, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Signal one API instance and wait for it to exit (SIGTERM: graceful). Returns its exit code.

        uvicorn re-raises the signal after a graceful shutdown, so SIGTERM normally yields -15.
        """
        return self._stop_named(f"api-{index}", sig=sig, timeout=timeout)

    def drain_api(self, index: int) -> None:
        """Take one instance out of nginx's upstream (an ALB deregistration); in-flight requests finish."""
        with self._lock:
            self._drained.add(index)
            self._reload_nginx()

    def undrain_api(self, index: int) -> None:
        with self._lock:
            self._drained.discard(index)
            self._reload_nginx()

    def rolling_restart_api(self, index: int) -> int | None:
        """What a Kubernetes rollout does to one pod: deregister, SIGTERM, start anew, register again."""
        self.drain_api(index)
        code = self.stop_api(index)
        self.start_api(index)
        self.undrain_api(index)
        return code

    # ----------------------------------------------------------------- start-up internals

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.timings[phase] = time.monotonic() - began

    def _prepare(self) -> None:
        paths = self._paths
        if self.reset and paths.root.exists():
            self._refuse_if_running()
            shutil.rmtree(paths.root)
            shutil.rmtree(paths.servers, ignore_errors=True)
        paths.root.mkdir(parents=True, exist_ok=True)
        self._refuse_if_running()
        if paths.services_json.exists():
            self.log("a previous run left services behind; stopping them first")
            down(paths.root, log=self.log)
        paths.lock.write_text(f"{os.getpid()} {self._token}\n")
        self._owns_lock_file = True
        if paths.servers != paths.root:
            self._link_server_dirs()
        give_to(self._user, *paths.server_dirs, paths.nginx / "temp")
        self._secrets = LocalSecrets.load_or_create(paths.root / "secrets.json")

    def _link_server_dirs(self) -> None:
        """Server state lives elsewhere: link it into the work dir so that the documented layout holds."""
        paths = self._paths
        self.log(f"{self._user.name!r} cannot reach {self.workdir}; server state goes to {paths.servers}")
        paths.servers.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        paths.servers.mkdir(mode=0o755, exist_ok=True)
        for target in paths.server_dirs:
            link = paths.root / target.name
            if link.is_symlink() and link.resolve() == target.resolve():
                continue
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)
            link.symlink_to(target)

    def _refuse_if_running(self) -> None:
        owner = _lock_owner(self.workdir)
        if owner is not None and (owner, _lock_token(self.workdir)) != (os.getpid(), self._token):
            raise StartError(f"another devstack (pid {owner}) runs in {self.workdir}; stop it first")

    def _start_data(self) -> None:
        shards = self.topology.shards
        with self._timed("data"), ThreadPoolExecutor(max_workers=len(shards) + 2) as pool:
            futures = [pool.submit(self._start_shard, shard.id) for shard in shards]
            futures.append(pool.submit(self._start_redis))
            futures.append(pool.submit(self._start_s3))
            _gather(futures)
        with self._timed("pgbouncer"):
            self._start_pgbouncer()
        self._paths.tenant_map.write_text(json.dumps(self.tenant_map, indent=2) + "\n")
        write_env_file(self._paths.env_file, self.app_env)
        self._write_services()

    def _register(self, service: Service) -> Service:
        with self._lock:
            self._services[service.name] = service
        return service

    def _pg_instance(self, name: str, datadir: Path, port: int) -> PgInstance:
        return PgInstance(
            name=name, datadir=datadir, port=port, log_path=self._paths.logs / f"{_slug(name)}.log"
        )

    def _start_shard(self, shard_id: str) -> None:
        shard = self.topology.shard(shard_id)
        base = self._paths.pg / shard_id
        give_to(self._user, base)
        primary = self._pg_instance(_primary_name(shard_id), base / "primary", self.ports.primary(shard_id))
        self._register(
            Service(
                name=primary.name, role="primary", port=primary.port, log_path=primary.log_path, pg=primary
            )
        )
        fresh = not primary.initialised
        if fresh:
            # A half-made directory from an interrupted run would make initdb refuse.
            shutil.rmtree(primary.datadir, ignore_errors=True)
            postgres.initdb(primary, self._user, self.secrets.superuser_password)
        postgres.start(primary, self._user)
        if fresh:
            postgres.create_app_database(
                primary,
                superuser_password=self.secrets.superuser_password,
                app_password=self.secrets.app_password,
                database=shard.database,
            )
        for index in range(shard.read_replicas):
            replica = self._pg_instance(
                _replica_name(shard_id, index), base / f"replica-{index}", self.ports.replica(shard_id, index)
            )
            self._register(
                Service(
                    name=replica.name,
                    role="replica",
                    port=replica.port,
                    log_path=replica.log_path,
                    pg=replica,
                )
            )
            if fresh or not replica.initialised:
                shutil.rmtree(replica.datadir, ignore_errors=True)
                postgres.base_backup(primary, replica, index, self._user, self.secrets.superuser_password)
            self._start_replica_instance(shard_id, index, replica)
        self._wait_streaming(shard_id)

    def _start_replica_instance(self, shard_id: str, index: int, replica: PgInstance) -> None:
        # pg_basebackup -R wrote the primary's port into the standby's conninfo; a changed port plan must
        # be carried over, or the standby would stream from a port nobody listens on.
        auto_conf = replica.datadir / "postgresql.auto.conf"
        text = auto_conf.read_text()
        auto_conf.write_text(re.sub(r"\bport=\d+", f"port={self.ports.primary(shard_id)}", text))
        postgres.start(replica, self._user)

    def _wait_streaming(self, shard_id: str) -> None:
        """Wait until the primary reports every running replica of the shard as streaming."""
        running = [
            index
            for index in range(self.topology.shard(shard_id).read_replicas)
            if (service := self._services.get(_replica_name(shard_id, index))) is not None
            and service.pid() is not None
        ]
        if not running:
            return
        sql = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"

        def streaming() -> bool:
            try:
                return int(self.psql(shard_id, sql)) >= len(running)
            except StartError:
                return False  # the primary is still coming up

        wait_until(
            streaming,
            what=f"replication of {shard_id}",
            timeout=HEALTH_TIMEOUT,
            log_path=self._services[_replica_name(shard_id, running[0])].log_path,
        )

    def _spawn(
        self,
        name: str,
        role: str,
        port: int | None,
        cmd: list[str],
        *,
        as_service_user: bool,
        env: dict[str, str] | None = None,
        marker: str,
    ) -> Service:
        with self._lock:
            running = self._services.get(name)
        if running is not None and running.pid() is not None:
            # Replacing the entry would orphan the running process: nothing would ever stop it.
            raise StartError(f"{name} is already running (pid {running.pid()}); stop it first")
        log_path = self._paths.logs / f"{_slug(name)}.log"
        proc = spawn(
            cmd,
            log_path=log_path,
            user=self._user if as_service_user else None,
            env=env,
            cwd=REPO_ROOT,
        )
        return self._register(
            Service(name=name, role=role, port=port, log_path=log_path, proc=proc, marker=marker)
        )

    def _start_redis(self) -> None:
        cmd = configs.redis_command(
            port=self.ports.redis, workdir=self._paths.redis, maxmemory=self.redis_maxmemory
        )
        service = self._spawn(
            "redis", "redis", self.ports.redis, cmd, as_service_user=True, marker="redis-server"
        )
        wait_until(
            lambda: _redis_ping(self.ports.redis),
            what="redis",
            timeout=HEALTH_TIMEOUT,
            proc=service.proc,
            log_path=service.log_path,
        )

    def _start_s3(self) -> None:
        cmd = configs.s3_command(port=self.ports.s3)
        service = self._spawn("s3", "s3", self.ports.s3, cmd, as_service_user=False, marker="moto.server")
        wait_until(
            lambda: http_status(self.s3_endpoint + "/") == 200,
            what="s3 (moto)",
            timeout=HEALTH_TIMEOUT,
            proc=service.proc,
            log_path=service.log_path,
        )
        bucket = self.app_env["NEXUS_S3_BUCKET"]
        # moto does not check signatures: a plain PUT creates the bucket (us-east-1 needs no location).
        status = http_status(f"{self.s3_endpoint}/{bucket}", method="PUT")
        if status != 200:
            raise StartError(f"creating bucket {bucket} on moto answered {status}")

    def _start_pgbouncer(self) -> None:
        paths = self._paths
        userlist = paths.pgbouncer / "userlist.txt"
        ini = paths.pgbouncer / "pgbouncer.ini"
        userlist.write_text(
            configs.pgbouncer_userlist(self.secrets.app_password, self.secrets.pgbouncer_admin_password)
        )
        userlist.chmod(0o600)
        ini.write_text(
            configs.pgbouncer_ini(
                ports=self.ports,
                topology=self.topology,
                pool=self.pool,
                userlist=userlist,
                pidfile=paths.pgbouncer / "pgbouncer.pid",
            )
        )
        if not self._user.is_current:
            for path in (userlist, ini):
                os.chown(path, self._user.uid, self._user.gid)
        service = self._spawn(
            "pgbouncer",
            "pgbouncer",
            self.ports.pgbouncer,
            ["pgbouncer", str(ini)],
            as_service_user=True,
            marker="pgbouncer",
        )
        wait_until(
            lambda: port_open(self.ports.pgbouncer),
            what="pgbouncer",
            timeout=HEALTH_TIMEOUT,
            proc=service.proc,
            log_path=service.log_path,
        )
        # Through the pooler to every shard: proves the aliases, the userlist and SCRAM on both sides.
        for shard in self.topology.shards:
            postgres.psql(
                self.ports.pgbouncer,
                "SELECT 1",
                password=self.secrets.app_password,
                user=APP_ROLE,
                database=shard.alias,
            )

    def migrate(self) -> None:
        """Run ``python -m app.migrate`` (every shard, through the writer endpoint)."""
        _require_module("app.migrate")
        run(
            [sys.executable, "-m", "app.migrate"],
            env=self._app_process_env(),
            cwd=REPO_ROOT,
            timeout=300,
            what="python -m app.migrate",
        )

    def _app_process_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.app_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env

    def start_api(self, index: int) -> None:
        """Start API instance ``index`` (``python -m app.serve``) and wait for its /readyz."""
        _require_module("app.serve")
        port = self.ports.api(index)
        service = self._spawn(
            f"api-{index}",
            "api",
            port,
            [sys.executable, "-m", "app.serve"],
            as_service_user=False,
            env=self._app_process_env(NEXUS_PORT=str(port)),
            marker="app.serve",
        )
        wait_until(
            lambda: http_status(f"{self.api_url(index)}/readyz") == 200,
            what=f"api-{index} /readyz",
            timeout=HEALTH_TIMEOUT,
            proc=service.proc,
            log_path=service.log_path,
        )
        self._write_services()

    def start_worker(self) -> None:
        """Start the queue worker (``python -m app.worker``)."""
        _require_module("app.worker")
        self._spawn(
            "worker",
            "worker",
            None,
            [sys.executable, "-m", "app.worker"],
            as_service_user=False,
            env=self._app_process_env(),
            marker="app.worker",
        )
        self._write_services()

    def _nginx_conf_path(self) -> Path:
        return self._paths.nginx / "nginx.conf"

    def _write_nginx_conf(self) -> None:
        max_upload = int(self.app_env["NEXUS_MAX_UPLOAD_BYTES"])
        conf = self._nginx_conf_path()
        conf.write_text(
            configs.nginx_conf(
                ports=self.ports,
                prefix=self._paths.nginx,
                log_dir=self._paths.logs,
                drained=frozenset(self._drained),
                client_max_body_bytes=2 * max_upload + 1024 * 1024,
            )
        )
        if not self._user.is_current:
            os.chown(conf, self._user.uid, self._user.gid)

    def _start_nginx(self) -> None:
        self._write_nginx_conf()
        cmd = configs.nginx_command(
            prefix=self._paths.nginx, conf=self._nginx_conf_path(), log_dir=self._paths.logs
        )
        service = self._spawn("nginx", "nginx", self.ports.http, cmd, as_service_user=True, marker="nginx")
        wait_until(
            lambda: http_status(f"{self.url}/readyz") == 200,
            what="nginx -> /readyz",
            timeout=HEALTH_TIMEOUT,
            proc=service.proc,
            log_path=self._paths.logs / "nginx-error.log",
        )

    def _reload_nginx(self) -> None:
        """Apply a new upstream list: SIGHUP, then wait until the master has a worker on the new config."""
        service = self._services["nginx"]
        assert service.proc is not None
        self._write_nginx_conf()
        old = _children(service.proc.pid)
        service.proc.send_signal(signal.SIGHUP)

        def reloaded() -> bool:
            # New workers run the new upstream list; old ones exit once their requests finish.
            now = _children(service.proc.pid) if service.proc else set()
            return bool(now) and not now & old

        wait_until(
            reloaded,
            what="nginx reload",
            timeout=10,
            proc=service.proc,
            log_path=self._paths.logs / "nginx-error.log",
        )

    # ----------------------------------------------------------------- stop internals

    def _stop_named(
        self, name: str, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0
    ) -> int | None:
        with self._lock:
            service = self._services[name]
        code = self._stop_service(service, sig=sig, timeout=timeout)
        self._write_services()
        return code

    def _stop_service(
        self, service: Service, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0
    ) -> int | None:
        if service.pg is not None:
            postgres.stop(service.pg, self._user)
            return None
        if service.proc is not None:
            return stop_child(service.proc, sig=sig, timeout=timeout)
        return None

    def _check_replica(self, shard: str, index: int) -> None:
        count = self.topology.shard(shard).read_replicas
        if not 0 <= index < count:
            raise IndexError(f"shard {shard!r} has {count} replica(s); no replica {index}")

    def _dsn(self, port: int, database: str, superuser: bool) -> str:
        user, password = (
            (SUPERUSER, self.secrets.superuser_password)
            if superuser
            else (APP_ROLE, self.secrets.app_password)
        )
        return f"postgresql://{user}:{password}@127.0.0.1:{port}/{database}"

    def _write_services(self) -> None:
        with self._lock:
            records = self.services()
        tmp = self._paths.services_json.with_suffix(".tmp")
        tmp.write_text(json.dumps({"workdir": str(self.workdir), "services": records}, indent=2) + "\n")
        tmp.replace(self._paths.services_json)


def down(workdir: Path | str = DEFAULT_WORKDIR, *, log: Callable[[str], None] = _log_stderr) -> list[str]:
    """Stop what a previous run listed in services.json (e.g. after the orchestrator was killed).

    A recorded pid is signalled only if its command line still matches, so a recycled pid is left alone.
    Returns the names of the services it stopped.
    """
    root = Path(workdir).resolve()
    listing = root / "services.json"
    if not listing.exists():
        return []
    owner = _lock_owner(root)
    if owner is not None and owner != os.getpid():
        raise StartError(
            f"devstack up (pid {owner}) still runs in {root}: stop it with Ctrl-C or kill {owner}"
        )
    records = json.loads(listing.read_text())["services"]
    user = service_user()
    stopped = []
    for record in sorted(records, key=lambda r: _STOP_ORDER.index(r["role"])):
        pid = record.get("pid")
        if "datadir" in record:
            inst = PgInstance(
                name=record["name"],
                datadir=Path(record["datadir"]),
                port=record["port"],
                log_path=Path(record["log"]),
            )
            if inst.pid() is not None and pid_alive(inst.pid() or 0):
                postgres.stop(inst, user)
                stopped.append(record["name"])
        elif pid and pid_alive(pid) and record.get("marker", "\0") in pid_cmdline(pid):
            stop_pid(pid)
            stopped.append(record["name"])
    listing.unlink()
    (root / "devstack.pid").unlink(missing_ok=True)
    for name in stopped:
        log(f"stopped stale {name}")
    return stopped


def clean(workdir: Path | str = DEFAULT_WORKDIR, *, log: Callable[[str], None] = _log_stderr) -> None:
    """Stop a stale run, then delete the work dir and the server state (wherever it was kept)."""
    root = Path(workdir).resolve()
    down(root, log=log)
    servers = _servers_dir(root, service_user())
    for path in {root, servers}:
        if path.exists():
            shutil.rmtree(path)
            log(f"deleted {path}")


def _lock_fields(root: Path) -> list[str]:
    try:
        return (root / "devstack.pid").read_text().split()
    except OSError:
        return []


def _lock_owner(root: Path) -> int | None:
    """The pid of a live process whose LocalStack owns the work dir, if any."""
    fields = _lock_fields(root)
    if not fields or not fields[0].isdigit():
        return None
    pid = int(fields[0])
    return pid if pid_alive(pid) else None


def _lock_token(root: Path) -> str:
    fields = _lock_fields(root)
    return fields[1] if len(fields) > 1 else ""


def _servers_dir(workdir: Path, user: ServiceUser) -> Path:
    """The work dir, or (as root, when the service user cannot reach it, e.g. a checkout under /root)
    a directory of its own under /var/tmp, stable per work dir so that data survives between runs."""
    if reachable_by(user, workdir):
        return workdir
    digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:12]
    return Path("/var/tmp/nexus-devstack") / digest


def _gather(futures: list[Future[None]]) -> None:
    """Wait for every future (each is bounded by its own timeouts), then raise the first failure."""
    errors = [exc for exc in (future.exception() for future in futures) if exc is not None]
    if errors:
        raise errors[0]


def _require_module(module: str) -> None:
    if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
        raise StartError(
            f"{module} does not exist yet; start the data services only (data_only=True / --data-only)"
        )


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(part) for part in text.split()}


def _primary_name(shard: str) -> str:
    return f"postgres:{shard}:primary"


def _replica_name(shard: str, index: int) -> str:
    return f"postgres:{shard}:replica-{index}"


def _slug(name: str) -> str:
    return name.replace(":", "-")
