"""Where the local stack keeps things: the repository's defaults and the work directory's layout."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.procs import ServiceUser, reachable_by

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK_FILE = REPO_ROOT / "Pulumi.dev.yaml"
DEFAULT_WORKDIR = REPO_ROOT / ".local"
DEFAULT_PORT_BASE = 25400
DEFAULT_HTTP_PORT = 8080

SERVICES_JSON = "services.json"
LOCK_FILE = "devstack.pid"


@dataclass
class StackPaths:
    root: Path
    """The work directory: listings, the env file, secrets (and, normally, everything else)."""
    servers: Path
    """Where the data servers keep state and logs: ``root``, unless the service user cannot reach it."""
    pg: Path = field(init=False)
    logs: Path = field(init=False)
    pgbouncer: Path = field(init=False)
    redis: Path = field(init=False)
    nginx: Path = field(init=False)
    tls: Path = field(init=False)
    """The local CA (kept across runs) and the server certificates it signs (renewed on every start)."""

    def __post_init__(self) -> None:
        self.pg = self.servers / "pg"
        self.logs = self.servers / "logs"
        self.pgbouncer = self.servers / "pgbouncer"
        self.redis = self.servers / "redis"
        self.nginx = self.servers / "nginx"
        self.tls = self.servers / "tls"

    @property
    def server_dirs(self) -> tuple[Path, ...]:
        return (self.pg, self.logs, self.pgbouncer, self.redis, self.nginx, self.tls)

    @property
    def services_json(self) -> Path:
        return self.root / SERVICES_JSON

    @property
    def tenant_map(self) -> Path:
        return self.root / "tenant-map.json"

    @property
    def env_file(self) -> Path:
        return self.root / "app.env"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    def log_file(self, service_name: str) -> Path:
        """The log of a service (``postgres:shard-a:primary`` logs to ``postgres-shard-a-primary.log``)."""
        return self.logs / f"{service_name.replace(':', '-')}.log"

    def link_server_dirs(self, user: ServiceUser, log: Callable[[str], None]) -> None:
        """Server state lives elsewhere: link it into the work dir so that the documented layout holds."""
        log(f"{user.name!r} cannot reach {self.root}; server state goes to {self.servers}")
        self.servers.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.servers.mkdir(mode=0o755, exist_ok=True)
        for target in self.server_dirs:
            link = self.root / target.name
            if link.is_symlink() and link.resolve() == target.resolve():
                continue
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)
            link.symlink_to(target)


def servers_dir(workdir: Path, user: ServiceUser) -> Path:
    """The work dir, or (as root, when the service user cannot reach it, e.g. a checkout under /root)
    a directory of its own under /var/tmp, stable per work dir so that data survives between runs."""
    if reachable_by(user, workdir):
        return workdir
    digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:12]
    return Path("/var/tmp/nexus-devstack") / digest
