"""Start, stop, a failed start and a stale run: the local stack never leaves a process behind."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devstack import LocalStack, StartError, down, free_port_plan, load_topology
from devstack.procs import pid_alive, pid_cmdline, port_open
from devstack.stack import DEFAULT_STACK_FILE, REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def workdir() -> Iterator[Path]:
    # World-traversable, unlike tmp_path: as root the servers run as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix="nexus-devstack-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def mini_stack_file(workdir: Path) -> Path:
    """The dev stack file cut down to one shard with one replica (cheaper to start and stop)."""
    document = yaml.safe_load(DEFAULT_STACK_FILE.read_text())
    config = document["config"]
    config["nexus:shards"] = {"solo": {"tenants": ["alpha"]}}
    config.pop("nexus:defaultShard", None)
    config.setdefault("nexus:shardDefaults", {})["readReplicas"] = 1
    path = workdir / "Pulumi.mini.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _mini(workdir: Path, stack_file: Path) -> LocalStack:
    ports = free_port_plan(load_topology(stack_file), api_instances=1)
    return LocalStack(workdir / "state", stack_file, ports=ports, api_instances=1, log=lambda _msg: None)


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (every server gets its work dir as an arg)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and pid_alive(int(proc.name)):
            cmdline = pid_cmdline(int(proc.name))
            if text in cmdline:
                found.append(cmdline)
    return found


def _pids(services: list[dict[str, object]]) -> list[int]:
    return [int(str(entry["pid"])) for entry in services if entry["pid"]]


def test_stop_leaves_nothing_running_and_a_restart_keeps_the_data(
    workdir: Path, mini_stack_file: Path
) -> None:
    # As root, a work dir the service user cannot reach (a checkout under /root, say) still works: the
    # server state moves under /var/tmp and is linked back into the work dir.
    private = workdir / "private"
    private.mkdir(mode=0o700)
    stack = _mini(private, mini_stack_file)
    servers = stack.services_root
    if os.geteuid() == 0:
        assert servers.is_relative_to("/var/tmp/nexus-devstack")
    try:
        _stop_and_restart(private, stack, mini_stack_file)
    finally:
        if servers != stack.workdir:
            shutil.rmtree(servers, ignore_errors=True)


def _stop_and_restart(private: Path, stack: LocalStack, mini_stack_file: Path) -> None:
    with stack.start(data_only=True):
        assert (stack.workdir / "pg" / "solo" / "primary" / "PG_VERSION").exists()
        services = stack.services()
        assert {entry["name"] for entry in services} == {
            "postgres:solo:primary",
            "postgres:solo:replica-0",
            "pgbouncer",
            "redis",
            "s3",
        }
        pids = _pids(services)
        assert len(pids) == 5
        assert all(pid_alive(pid) for pid in pids)
        stack.psql("solo", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        # A second stack on the same work dir is refused and leaves the running one's listing alone.
        with pytest.raises(StartError, match="another devstack"):
            _mini(private, mini_stack_file).start(data_only=True)
        assert (stack.workdir / "services.json").exists()
        assert all(pid_alive(pid) for pid in pids)
    assert not any(pid_alive(pid) for pid in pids)
    assert not (stack.workdir / "services.json").exists()
    assert not (stack.workdir / "devstack.pid").exists()

    with _mini(private, mini_stack_file).start(data_only=True) as again:
        assert again.psql("solo", "SELECT v FROM kept") == "42"
        assert again.psql("solo", "SELECT v FROM kept", replica=0) == "42"


def test_a_failed_start_stops_what_it_had_started(workdir: Path, mini_stack_file: Path) -> None:
    ports = free_port_plan(load_topology(mini_stack_file), api_instances=1)
    # Redis refuses its configuration and exits while the shard and S3 start beside it.
    stack = LocalStack(
        workdir / "state",
        mini_stack_file,
        ports=ports,
        api_instances=1,
        redis_maxmemory="not-a-size",
        log=lambda _msg: None,
    )
    with pytest.raises(StartError, match="redis"):
        stack.start(data_only=True)
    assert stack.services() == []
    # Postgres, PgBouncer and Redis carry the work dir on their command line; moto only its port.
    assert _processes_mentioning(str(stack.workdir)) == []
    assert not port_open(stack.ports.s3)
    assert not port_open(stack.ports.primary("solo"))


def test_a_busy_port_is_named_before_anything_starts(workdir: Path, mini_stack_file: Path) -> None:
    """`devstack up` checks every port first: the busy one is named with its service and its holder, status 1,
    no traceback, and nothing was started."""
    ports = free_port_plan(load_topology(mini_stack_file), api_instances=1)
    state = workdir / "state"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports.primary("solo")))
        blocker.listen()
        done = subprocess.run(
            [*_up_command(state, mini_stack_file, ports.base, ports.http), "--data-only"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    busy = f"port {ports.primary('solo')} (postgres:solo:primary) is in use by pid {os.getpid()}"
    assert busy in done.stderr
    assert "--port-base" in done.stderr
    assert _processes_mentioning(str(state)) == []
    assert not (state / "services.json").exists()


def _up_command(state: Path, stack_file: Path, port_base: int, http_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "devstack",
        "up",
        "--workdir",
        str(state),
        "--stack-file",
        str(stack_file),
        "--port-base",
        str(port_base),
        "--http-port",
        str(http_port),
        "--api-instances",
        "1",
    ]


def test_down_stops_a_run_whose_orchestrator_was_killed(workdir: Path, mini_stack_file: Path) -> None:
    state = workdir / "state"
    ports = free_port_plan(load_topology(mini_stack_file), api_instances=1)
    cmd = [
        sys.executable,
        "-m",
        "devstack",
        "up",
        "--data-only",
        "--workdir",
        str(state),
        "--stack-file",
        str(mini_stack_file),
        "--port-base",
        str(ports.base),
        "--http-port",
        str(ports.http),
        "--api-instances",
        "1",
    ]
    with subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as up:
        assert up.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            if line.startswith("ready in") or not line:
                break
        assert line.startswith("ready in"), line
        with pytest.raises(StartError, match="still runs"):
            down(state)  # the orchestrator is alive: down is for stale runs only
        up.kill()  # no chance to clean up
        up.wait()
    listing = json.loads((state / "services.json").read_text())["services"]
    pids = _pids(listing)
    assert len(pids) == 5
    assert all(pid_alive(pid) for pid in pids)
    stopped = down(state, log=lambda _msg: None)
    assert len(stopped) == 5
    assert not any(pid_alive(pid) for pid in pids)
    assert down(state) == []
