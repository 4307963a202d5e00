"""Helpers of the image tests: the rendered manifests, the image, and containers run as a pod spec says.

The manifests come from the workloads program run under the offline engine
(``tests.support.workloads``) for the dev stack, the one the local stack reads: the same objects that
``pulumi up`` would apply. This module is the one place that knows where they come from.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from devstack import LocalStack
from devstack.image import PODMAN, PodRun, pod_run, run_command
from tests.support.workloads import manifests_of, run_workloads

STACK = "dev"
SIZE_BUDGET_BYTES = 360 * 1000 * 1000
"""The image's uncompressed size budget (docs/image.md): what it is today (328 MB) plus about 10 %."""


@cache
def rendered_manifests() -> list[dict[str, Any]]:
    return manifests_of(run_workloads(STACK))


def pod_spec(kind: str, name_prefix: str) -> dict[str, Any]:
    """The pod template of the rendered object of ``kind`` whose name starts with ``name_prefix``."""
    for manifest in rendered_manifests():
        if manifest["kind"] == kind and manifest["metadata"]["name"].startswith(name_prefix):
            spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
            return spec
    raise LookupError(f"no rendered {kind} named {name_prefix}*")


def api_run() -> PodRun:
    return pod_run(pod_spec("Deployment", "api"), "api")


def worker_run() -> PodRun:
    return pod_run(pod_spec("Deployment", "worker"), "worker")


def migrate_run() -> PodRun:
    return pod_run(pod_spec("Job", "migrate"), "migrate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def container_env(
    stack: LocalStack, tenant_map: dict[str, Any] | None = None, **extra: str
) -> dict[str, str]:
    """The local stack's app environment as a pod gets it: the tenant map inline (the ConfigMap's way)."""
    env = dict(stack.app_env)
    env.pop("NEXUS_TENANT_MAP_FILE")
    env["NEXUS_TENANT_MAP"] = json.dumps(tenant_map if tenant_map is not None else stack.tenant_map)
    env.update(extra)
    return env


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass(frozen=True)
class Container:
    name: str

    def logs(self) -> str:
        result = podman("logs", self.name)
        return result.stdout + result.stderr

    def running(self) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", self.name).stdout.strip() == "true"

    def wait(self, timeout: float) -> int:
        """The exit code once the container stops (``podman wait``), within ``timeout`` seconds."""
        result = podman("wait", self.name, timeout=timeout)
        assert result.returncode == 0, result.stderr
        return int(result.stdout.strip())

    def signal(self, name: str) -> None:
        result = podman("kill", "--signal", name, self.name)
        assert result.returncode == 0, result.stderr


@contextmanager
def container(
    image: str, run: PodRun, *, env: dict[str, str], command: tuple[str, ...] | None = None
) -> Iterator[Container]:
    """A detached container with the pod's settings, removed afterwards (its log is printed: pytest shows it
    for a failing test)."""
    name = f"nexus-test-{secrets.token_hex(4)}"
    # The local stack's databases verify against its own CA: mounted where NEXUS_DB_CA_BUNDLE says.
    bundle = env.get("NEXUS_DB_CA_BUNDLE")
    mounts = (Path(bundle),) if bundle and Path(bundle).is_file() else ()
    started = subprocess.run(
        run_command(image, run, name=name, env=env, command=command, read_only_files=mounts),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    handle = Container(name)
    try:
        yield handle
    finally:
        print(f"--- log of {name}:\n{handle.logs()[-4000:]}")
        podman("rm", "--force", "--time", "0", name)


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, box: Container) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if not box.running():
            raise AssertionError(f"{what}: the container stopped\n{box.logs()[-4000:]}")
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout} s\n{box.logs()[-4000:]}")


def status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return 0


def startup_budget_seconds(spec: dict[str, Any], container_name: str) -> int:
    """How long Kubernetes lets a container start: its startup probe's period times its failure threshold."""
    container_spec = next(c for c in spec["containers"] if c["name"] == container_name)
    probe = container_spec["startupProbe"]
    return int(probe["periodSeconds"]) * int(probe["failureThreshold"])
