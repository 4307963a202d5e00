"""`make local` supervises what it started: a killed API instance or worker is reported at once and started
again with back-off; a data service that dies is reported and left alone (AWS recovers those)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import yaml

from devstack import free_port_plan, load_topology
from devstack.procs import StartError, http_status, pid_alive
from devstack.stack import DEFAULT_STACK_FILE, REPO_ROOT
from devstack.supervisor import Backoff, _summary, describe_exit


@pytest.mark.unit
def test_the_back_off_doubles_from_one_second_to_its_cap() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    with pytest.raises(ValueError, match="counts from 1"):
        backoff.delay(0)


@pytest.mark.unit
def test_exit_codes_read_as_a_person_would_say_them() -> None:
    assert describe_exit(-15) == "killed by SIGTERM"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(None) == "gone"


@pytest.mark.unit
def test_a_failed_restart_is_told_in_one_line_with_the_end_of_its_log() -> None:
    failure = StartError("api-0 /readyz exited with code 3; last lines of /x/api-0.log:\nstarting\nno port")
    assert _summary(failure) == "api-0 /readyz exited with code 3; its log ends: no port"
    assert _summary(StartError("worker: the stack is stopping")) == "worker: the stack is stopping"


class _Lines:
    """The merged output of `devstack up`, read by a thread so that waits have deadlines."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout:.0f}s; output:\n" + "\n".join(self.seen))


@pytest.fixture
def workdir() -> Iterator[Path]:
    # World-traversable, unlike tmp_path: as root the servers run as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix="nexus-devstack-sup-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _mini_stack_file(workdir: Path) -> Path:
    document = yaml.safe_load(DEFAULT_STACK_FILE.read_text())
    config = document["config"]
    config["nexus:shards"] = {"solo": {"tenants": ["alpha"]}}
    config.pop("nexus:defaultShard", None)
    config.setdefault("nexus:shardDefaults", {})["readReplicas"] = 1
    path = workdir / "Pulumi.mini.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _pid_of(state: Path, name: str) -> int:
    for entry in json.loads((state / "services.json").read_text())["services"]:
        if entry["name"] == name:
            return int(entry["pid"])
    raise LookupError(name)


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def _holding(port: int) -> Iterator[None]:
    """Listen on ``port`` as soon as the dying holder lets go of it, until the block ends."""
    deadline = time.monotonic() + 10
    while True:
        sock = socket.socket()
        # The killed instance's connections linger in TIME_WAIT on the port; a listener may still bind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            sock.close()
            assert time.monotonic() < deadline, f"port {port} never came free"
            time.sleep(0.05)
    with sock:
        sock.listen()
        yield


@pytest.mark.integration
@pytest.mark.slow
def test_a_killed_api_instance_and_worker_are_reported_and_restarted(workdir: Path) -> None:
    stack_file = _mini_stack_file(workdir)
    ports = free_port_plan(load_topology(stack_file), api_instances=1)
    state = workdir / "state"
    cmd = [
        sys.executable,
        "-m",
        "devstack",
        "up",
        "--workdir",
        str(state),
        "--stack-file",
        str(stack_file),
        "--port-base",
        str(ports.base),
        "--http-port",
        str(ports.http),
        "--api-instances",
        "1",
        "--api-workers",
        "2",
    ]
    with subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as up:
        assert up.stdout is not None
        lines = _Lines(up.stdout)
        try:
            lines.wait_for("ready in", timeout=240)
            lines.wait_for("supervised:", timeout=5)

            # SIGTERM to an API instance, from outside: reported within a poll, restarted after 1 s.
            api_pid = _pid_of(state, "api-0")
            os.kill(api_pid, signal.SIGTERM)
            killed_at = time.monotonic()
            report = lines.wait_for(f"api-0 (pid {api_pid})", timeout=30)
            reported_after = time.monotonic() - killed_at
            # uvicorn's process manager (two workers) stops them and exits 0 on SIGTERM.
            assert f"api-0 (pid {api_pid}) exited with code 0" in report
            assert "restarting it in 1s (restart 1" in report
            restarted = lines.wait_for("api-0 restarted (pid ", timeout=90)
            new_pid = int(restarted.split("(pid ", 1)[1].split(")", 1)[0])
            print(f"api-0 killed: reported after {reported_after:.2f}s; {restarted}")
            assert new_pid != api_pid
            assert pid_alive(new_pid)
            # The killed process was reaped: a zombie would still have its /proc entry.
            assert not Path(f"/proc/{api_pid}").exists()
            assert _pid_of(state, "api-0") == new_pid
            assert http_status(f"http://127.0.0.1:{ports.api(0)}/readyz") == 200
            assert http_status(f"http://127.0.0.1:{ports.http}/readyz") == 200

            # SIGKILL to the instance's process manager: its uvicorn workers would live on, holding the port.
            # They go with it (the process group), and the restart, within 60 s of the last, waits 2 s.
            manager = new_pid
            workers = _children(manager)
            assert len(workers) >= 2, workers  # two uvicorn workers (and multiprocessing's resource tracker)
            os.kill(manager, signal.SIGKILL)
            report = lines.wait_for(f"api-0 (pid {manager})", timeout=30)
            assert "killed by SIGKILL; stopped " in report
            assert all(f"{pid} (" in report for pid in workers), report
            assert "restarting it in 2s (restart 2" in report
            lines.wait_for("api-0 restarted (pid ", timeout=90)
            assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
            assert http_status(f"http://127.0.0.1:{ports.api(0)}/readyz") == 200

            # A restart that fails (its port taken meanwhile) is retried after a doubled delay.
            killed = _pid_of(state, "api-0")
            os.kill(killed, signal.SIGKILL)
            lines.wait_for(f"api-0 (pid {killed})", timeout=30)
            with _holding(ports.api(0)):
                failed = lines.wait_for("api-0: restart 3 failed (", timeout=90)
                assert "next try in 8s" in failed
            lines.wait_for("api-0 restarted (pid ", timeout=90)
            assert http_status(f"http://127.0.0.1:{ports.api(0)}/readyz") == 200

            # The worker, killed without a chance to finish: the same.
            worker_pid = _pid_of(state, "worker")
            os.kill(worker_pid, signal.SIGKILL)
            report = lines.wait_for(f"worker (pid {worker_pid})", timeout=30)
            assert "killed by SIGKILL" in report
            lines.wait_for("worker restarted (pid ", timeout=60)
            assert pid_alive(_pid_of(state, "worker"))

            # Redis stands for ElastiCache: reported, not restarted.
            redis_pid = _pid_of(state, "redis")
            os.kill(redis_pid, signal.SIGKILL)
            report = lines.wait_for(f"redis (pid {redis_pid})", timeout=30)
            assert "not restarted (in AWS, ElastiCache recovers it" in report
        finally:
            up.send_signal(signal.SIGTERM)
            try:
                code = up.wait(timeout=120)
            finally:
                if up.poll() is None:
                    up.kill()
    print("\n".join(lines.seen))
    assert code == 0, "\n".join(lines.seen)
    assert not (state / "services.json").exists()
