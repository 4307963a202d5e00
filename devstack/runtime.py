"""What every service module works on: the plan, the paths, the service user, the secrets, and the
registry of running services (spawning, stopping and listing them in services.json)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import postgres, tls
from devstack.appenv import LocalSecrets, app_environment
from devstack.configs import PoolSettings
from devstack.layout import REPO_ROOT, StackPaths
from devstack.postgres import APP_ROLE, SUPERUSER, PgInstance
from devstack.procs import ServiceUser, StartError, spawn, stop_child
from devstack.tls import ServerCert
from devstack.topology import PortPlan, Topology

HEALTH_TIMEOUT = 60.0

# Stop order: traffic first, then the app, then what the app depends on.
STOP_ORDER = ("nginx", "api", "worker", "pgbouncer", "replica", "primary", "redis", "s3")


def log_stderr(message: str) -> None:
    # A closed stderr (a `| tee` killed by the same Ctrl-C) must not interrupt a stop half-way.
    with contextlib.suppress(OSError):
        print(f"devstack: {message}", file=sys.stderr, flush=True)


@dataclass(kw_only=True)
class Service:
    """One running (or stopped) service of the stack."""

    name: str
    role: str
    """One of STOP_ORDER."""
    port: int | None
    """None for the worker, which listens on nothing."""
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    pg: PgInstance | None = None
    marker: str = ""
    """A word of the command line, checked before `devstack down` signals a recorded pid."""
    wanted: bool = True
    """False once stopped on purpose (a fault control, the stack's stop): the supervisor leaves it alone."""

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


class Runtime:
    """The shared state of one LocalStack; the service modules take it as their first argument."""

    def __init__(
        self,
        *,
        topology: Topology,
        ports: PortPlan,
        paths: StackPaths,
        user: ServiceUser,
        pool: PoolSettings,
        redis_maxmemory: str,
        api_workers: int,
        overrides: dict[str, str],
        log: Callable[[str], None],
    ) -> None:
        self.topology = topology
        self.ports = ports
        self.paths = paths
        self.user = user
        self.pool = pool
        self.redis_maxmemory = redis_maxmemory
        self.api_workers = api_workers
        self.overrides = overrides
        self.log = log
        self._secrets: LocalSecrets | None = None
        self._ca: tuple[Path, Path] | None = None
        self.services: dict[str, Service] = {}
        self.drained: set[int] = set()
        """API instances taken out of nginx's upstream."""
        self.lock = threading.RLock()
        self.closed = False
        """Set by the stack's stop: a restart still under way may not spawn or list anything any more."""

    # ----------------------------------------------------------------- plan and settings

    @property
    def secrets(self) -> LocalSecrets:
        if self._secrets is None:
            raise RuntimeError("the stack has not been started")
        return self._secrets

    def load_secrets(self) -> None:
        """Read the work dir's secrets.json (made on the first start, kept so that the data stays usable)."""
        self._secrets = LocalSecrets.load_or_create(self.paths.root / "secrets.json")

    def prepare_tls(self) -> None:
        """Make the work dir's CA (once; kept so that its certificate stays the clients' trust anchor)."""
        self._ca = tls.make_ca(self.paths.tls)

    @property
    def ca_cert(self) -> Path:
        """The CA certificate every client of the stack's databases verifies against."""
        if self._ca is None:
            raise RuntimeError("the stack has not been started")
        return self._ca[0]

    def server_cert(self, name: str) -> ServerCert:
        """A fresh certificate and key for one server (``127.0.0.1`` and ``localhost``), owned by the
        service user that runs it."""
        if self._ca is None:
            raise RuntimeError("the stack has not been started")
        return tls.issue_server_cert(
            self.paths.tls, name, ca_cert=self._ca[0], ca_key=self._ca[1], owner=self.user
        )

    @property
    def app_env(self) -> dict[str, str]:
        """The NEXUS_* environment given to the API, the worker and the migrations."""
        return app_environment(
            topology=self.topology,
            ports=self.ports,
            secrets_=self.secrets,
            tenant_map_file=self.paths.tenant_map,
            ca_bundle=self.ca_cert,
            api_workers=self.api_workers,
            overrides=self.overrides,
        )

    def check_replica(self, shard: str, index: int) -> None:
        count = self.topology.shard(shard).read_replicas
        if not 0 <= index < count:
            raise IndexError(f"shard {shard!r} has {count} replica(s); no replica {index}")

    def pg_login(self, superuser: bool) -> tuple[str, str]:
        """User and password: the superuser (for inspection) or the app role."""
        if superuser:
            return SUPERUSER, self.secrets.superuser_password
        return APP_ROLE, self.secrets.app_password

    def psql(self, shard: str, sql: str, *, replica: int | None = None, superuser: bool = True) -> str:
        """Run SQL on a shard's primary (or replica) with psql; tuples-only, '|'-separated output."""
        database = self.topology.shard(shard).database
        if replica is None:
            port = self.ports.primary(shard)
        else:
            self.check_replica(shard, replica)
            port = self.ports.replica(shard, replica)
        user, password = self.pg_login(superuser)
        return postgres.psql(port, sql, password=password, user=user, database=database)

    # ----------------------------------------------------------------- the registry

    def register(self, service: Service) -> Service:
        with self.lock:
            self.services[service.name] = service
        return service

    def spawn(
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
        with self.lock:
            if self.closed:
                raise StartError(f"{name}: the stack is stopping")
            running = self.services.get(name)
        if running is not None and running.pid() is not None:
            # Replacing the entry would orphan the running process: nothing would ever stop it.
            raise StartError(f"{name} is already running (pid {running.pid()}); stop it first")
        log_path = self.paths.log_file(name)
        proc = spawn(
            cmd,
            log_path=log_path,
            user=self.user if as_service_user else None,
            env=env,
            cwd=REPO_ROOT,
        )
        return self.register(
            Service(name=name, role=role, port=port, log_path=log_path, proc=proc, marker=marker)
        )

    def stop_service(
        self, service: Service, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0
    ) -> int | None:
        service.wanted = False
        if service.pg is not None:
            postgres.stop(service.pg, self.user)
            return None
        if service.proc is not None:
            return stop_child(service.proc, sig=sig, timeout=timeout)
        return None

    def stop_named(
        self, name: str, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0
    ) -> int | None:
        with self.lock:
            service = self.services[name]
        code = self.stop_service(service, sig=sig, timeout=timeout)
        self.write_services()
        return code

    def records(self) -> list[dict[str, Any]]:
        """What services.json lists: name, pid, port, role and log of each service."""
        with self.lock:
            return [service.record() for service in self.services.values()]

    def want(self, *names: str) -> None:
        """Mark services started again by a fault control as wanted: the supervisor watches them again."""
        with self.lock:
            for name in names:
                self.services[name].wanted = True

    def write_services(self) -> None:
        # Under the lock as a whole: two writers (API instances started in parallel, the supervisor) would
        # otherwise share the temporary file, and the second rename would find it gone.
        with self.lock:
            if self.closed:
                return
            records = self.records()
            listing = self.paths.services_json
            tmp = listing.with_suffix(".tmp")
            document = {"workdir": str(self.paths.root), "services": records}
            tmp.write_text(json.dumps(document, indent=2) + "\n")
            tmp.replace(listing)

    def chown_to_service_user(self, *paths: Path) -> None:
        """Hand files the servers read to the service user (a no-op when that is already us)."""
        if not self.user.is_current:
            for path in paths:
                os.chown(path, self.user.uid, self.user.gid)
