"""The app's processes: migrations (``app.migrate``), the API instances (``app.serve``), the worker."""

from __future__ import annotations

import importlib.util
import os
import sys

from devstack.appenv import migration_environment
from devstack.layout import REPO_ROOT
from devstack.procs import StartError, http_status, run, wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime
from devstack.topology import PortPlan


def api_url(ports: PortPlan, index: int) -> str:
    """One API instance directly, bypassing nginx."""
    return f"http://127.0.0.1:{ports.api(index)}"


def migrate(rt: Runtime) -> None:
    """Run ``python -m app.migrate`` (every shard, through the writer endpoint)."""
    _require_module("app.migrate")
    run(
        [sys.executable, "-m", "app.migrate"],
        env=_process_env(rt, **migration_environment(rt.topology, rt.secrets)),
        cwd=REPO_ROOT,
        timeout=300,
        what="python -m app.migrate",
    )


def start_api(rt: Runtime, index: int) -> None:
    """Start API instance ``index`` (``python -m app.serve``) and wait for its /readyz."""
    _require_module("app.serve")
    port = rt.ports.api(index)
    service = rt.spawn(
        f"api-{index}",
        "api",
        port,
        [sys.executable, "-m", "app.serve"],
        as_service_user=False,
        env=_process_env(rt, NEXUS_PORT=str(port)),
        marker="app.serve",
    )
    wait_until(
        lambda: http_status(f"{api_url(rt.ports, index)}/readyz") == 200,
        what=f"api-{index} /readyz",
        timeout=HEALTH_TIMEOUT,
        proc=service.proc,
        log_path=service.log_path,
    )
    rt.write_services()


def start_worker(rt: Runtime) -> None:
    """Start the queue worker (``python -m app.worker``)."""
    _require_module("app.worker")
    rt.spawn(
        "worker",
        "worker",
        None,
        [sys.executable, "-m", "app.worker"],
        as_service_user=False,
        env=_process_env(rt),
        marker="app.worker",
    )
    rt.write_services()


def _process_env(rt: Runtime, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(rt.app_env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _require_module(module: str) -> None:
    if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
        raise StartError(
            f"{module} does not exist yet; start the data services only (data_only=True / --data-only)"
        )
