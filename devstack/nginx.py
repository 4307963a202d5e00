"""nginx in front of the API instances (the ALB's part): its config, start, and reloads on drain."""

from __future__ import annotations

import signal
from pathlib import Path

from devstack import configs
from devstack.procs import http_status, wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime
from devstack.topology import PortPlan


def url(ports: PortPlan) -> str:
    """The API as clients see it (through nginx)."""
    return f"http://127.0.0.1:{ports.http}"


def _conf_path(rt: Runtime) -> Path:
    return rt.paths.nginx / "nginx.conf"


def _error_log(rt: Runtime) -> Path:
    return rt.paths.logs / "nginx-error.log"


def _write_conf(rt: Runtime) -> None:
    max_upload = int(rt.app_env["NEXUS_MAX_UPLOAD_BYTES"])
    conf = _conf_path(rt)
    conf.write_text(
        configs.nginx_conf(
            ports=rt.ports,
            prefix=rt.paths.nginx,
            log_dir=rt.paths.logs,
            drained=frozenset(rt.drained),
            client_max_body_bytes=2 * max_upload + 1024 * 1024,
        )
    )
    rt.chown_to_service_user(conf)


def start(rt: Runtime) -> None:
    """Start nginx and wait until /readyz answers 200 through it."""
    _write_conf(rt)
    cmd = configs.nginx_command(prefix=rt.paths.nginx, conf=_conf_path(rt), log_dir=rt.paths.logs)
    service = rt.spawn("nginx", "nginx", rt.ports.http, cmd, as_service_user=True, marker="nginx")
    wait_until(
        lambda: http_status(f"{url(rt.ports)}/readyz") == 200,
        what="nginx -> /readyz",
        timeout=HEALTH_TIMEOUT,
        proc=service.proc,
        log_path=_error_log(rt),
    )


def reload(rt: Runtime) -> None:
    """Apply a new upstream list: SIGHUP, then wait until the master has a worker on the new config."""
    service = rt.services["nginx"]
    assert service.proc is not None
    _write_conf(rt)
    old = _children(service.proc.pid)
    service.proc.send_signal(signal.SIGHUP)

    def reloaded() -> bool:
        # New workers run the new upstream list; old ones exit once their requests finish.
        now = _children(service.proc.pid) if service.proc else set()
        return bool(now) and not now & old

    wait_until(reloaded, what="nginx reload", timeout=10, proc=service.proc, log_path=_error_log(rt))


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(part) for part in text.split()}
