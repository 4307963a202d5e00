"""The processes under test: the local stack (data services, two 1-worker API instances behind nginx),
plus the API instances and the second nginx the scenarios need, and the Starlette hello yardstick.

| target            | what                                       | cache |
|-------------------|--------------------------------------------|-------|
| one-1w / off-1w   | one instance, 1 worker process             | on / off |
| one-2w / off-2w   | one instance, 2 worker processes           | on / off |
| nginx / off-nginx | nginx over two instances of 1 worker each  | on / off |
| hello-1w/hello-2w | bare Starlette hello, app.serve's settings | -     |
| textbook / textbook-off | the peer (bench/textbook.py), 2 uvicorn workers | on / off |
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import LocalStack, free_port_plan, load_topology
from devstack.appenv import JWT_AUDIENCE, JWT_ISSUER
from devstack.configs import nginx_command, nginx_conf
from devstack.procs import http_status, spawn, stop_child, wait_until
from devstack.stack import DEFAULT_STACK_FILE, REPO_ROOT
from devstack.topology import PortPlan

TENANT = "acme"
READY_TIMEOUT = 90.0


@dataclass
class Fleet:
    """Everything started for one benchmark run, stopped by :meth:`stop`."""

    stack: LocalStack
    workdir: Path
    urls: dict[str, str] = field(default_factory=dict)
    roots: dict[str, list[int]] = field(default_factory=dict)
    """The server pids behind each target, for CPU per request: the API (or hello) processes, and nginx's
    for the nginx targets."""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    token: str = ""
    doc_ids: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ start

    @classmethod
    def start(cls, log: Any) -> Fleet:
        topology = load_topology(DEFAULT_STACK_FILE)
        workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
        # The data servers run as an unprivileged user when we are root: it must reach the directory.
        workdir.chmod(0o755)
        stack = LocalStack(
            workdir,
            DEFAULT_STACK_FILE,
            ports=free_port_plan(topology, api_instances=2),
            api_instances=2,
            api_workers=1,
            log=log,
            # The devstack logs every request (no load balancer keeps access logs locally); the benchmark
            # measures the API's own default, which AWS deploys (docs/app.md, "Logs").
            app_env_overrides={"NEXUS_ACCESS_LOG": "errors"},
        )
        fleet = cls(stack=stack, workdir=workdir)
        try:
            stack.start()
            fleet.urls["one-1w"] = stack.api_url(0)
            fleet.urls["nginx"] = stack.url
            pids = {s["name"]: s["pid"] for s in stack.services()}
            fleet.roots["one-1w"] = [pids["api-0"]]
            fleet.roots["nginx"] = [pids["api-0"], pids["api-1"], pids["nginx"]]
            fleet._start_extra(topology)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def _start_extra(self, topology: Any) -> None:
        # A second block of free ports: its two API ports and HTTP port host the cache-off pair and its nginx.
        plan = free_port_plan(topology, api_instances=2)
        spare = [plan.pgbouncer, plan.redis, plan.s3]
        self._api("one-2w", spare[0], workers=2, cache=True)
        self._api("off-2w", spare[1], workers=2, cache=False)
        self._api("off-1w", plan.api(0), workers=1, cache=False)
        self._api("off-pair", plan.api(1), workers=1, cache=False)
        self._hello("hello-1w", spare[2], workers=1)
        self._hello("hello-2w", plan.primary(plan.shard_ids[0]), workers=2)
        more = free_port_plan(topology, api_instances=1)
        self._textbook("textbook", more.pgbouncer, cache=True)
        self._textbook("textbook-off", more.redis, cache=False)
        for name, url in self.urls.items():
            path = {"hello": "/", "textbook": "/healthz"}.get(name.split("-")[0], "/readyz")
            wait_until(
                functools.partial(_answers_200, url + path),
                what=f"{name} at {url}",
                timeout=READY_TIMEOUT,
                log_path=self.workdir / "bench-logs" / f"{name}.log",
            )
        self._nginx_off(plan)
        self.roots["off-nginx"] = self.roots["off-1w"] + self.roots["off-pair"] + [self.procs[-1].pid]

    def _log(self, name: str) -> Path:
        return self.workdir / "bench-logs" / f"{name}.log"

    def _api(self, name: str, port: int, *, workers: int, cache: bool) -> None:
        env = dict(os.environ)
        env.update(self.stack.app_env)
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
            NEXUS_PORT=str(port),
            NEXUS_WORKERS=str(workers),
            NEXUS_CACHE_ENABLED="true" if cache else "false",
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = spawn([sys.executable, "-m", "app.serve"], log_path=self._log(name), env=env, cwd=REPO_ROOT)
        self.procs.append(proc)
        self.urls[name] = f"http://127.0.0.1:{port}"
        self.roots[name] = [proc.pid]

    def _hello(self, name: str, port: int, *, workers: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        cmd = [sys.executable, "-m", "bench.hello", str(port), str(workers)]
        proc = spawn(cmd, log_path=self._log(name), env=env, cwd=REPO_ROOT)
        self.procs.append(proc)
        self.urls[name] = f"http://127.0.0.1:{port}"
        self.roots[name] = [proc.pid]

    def _textbook(self, name: str, port: int, *, cache: bool) -> None:
        """The peer, as `uvicorn bench.textbook:app --workers 2` (see bench/textbook.py)."""
        stack = self.stack
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "TEXTBOOK_DSN": (
                f"postgresql://nexus_app:{stack.secrets.app_password}@127.0.0.1:{stack.ports.pgbouncer}"
                f"/{stack.topology.shard('shard-a').alias}"
            ),
            "TEXTBOOK_CA": str(stack.ca_cert),
            "TEXTBOOK_REDIS_URL": f"redis://127.0.0.1:{stack.ports.redis}/0",
            "TEXTBOOK_JWT_SECRET": stack.secrets.jwt_secret,
            "TEXTBOOK_JWT_AUDIENCE": JWT_AUDIENCE,
            "TEXTBOOK_JWT_ISSUER": JWT_ISSUER,
            "TEXTBOOK_CACHE": "true" if cache else "false",
        }
        cmd = [sys.executable, "-m", "uvicorn", "bench.textbook:app", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", "2", "--no-access-log"]
        proc = spawn(cmd, log_path=self._log(name), env=env, cwd=REPO_ROOT)
        self.procs.append(proc)
        self.urls[name] = f"http://127.0.0.1:{port}"
        self.roots[name] = [proc.pid]

    def _nginx_off(self, plan: PortPlan) -> None:
        """The devstack's own nginx config, pointed at the two cache-off instances."""
        prefix = self.workdir / "nginx-off"
        (prefix / "temp").mkdir(parents=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            nginx_conf(ports=plan, prefix=prefix, log_dir=prefix, client_max_body_bytes=32 * 1024 * 1024)
        )
        cmd = nginx_command(prefix=prefix, conf=conf, log_dir=prefix)
        self.procs.append(spawn(cmd, log_path=self._log("nginx-off"), cwd=REPO_ROOT))
        self.urls["off-nginx"] = f"http://127.0.0.1:{plan.http}"
        wait_until(
            lambda: http_status(self.urls["off-nginx"] + "/readyz") == 200,
            what="nginx over the cache-off pair",
            timeout=READY_TIMEOUT,
            log_path=prefix / "nginx-error.log",
        )

    # ------------------------------------------------------------------ data

    def seed(self, documents: int) -> None:
        """A user of the tenant, its token, and documents to read (written through a cache-on instance)."""
        base = self.urls["one-1w"]
        creds = {"tenant": TENANT, "email": "bench@example.com", "password": "bench password 0123"}
        _post(base + "/v1/auth/register", creds)
        self.token = _post(base + "/v1/auth/token", creds)["access_token"]
        for i in range(documents):
            doc = _post(base + "/v1/documents", {"title": f"doc {i}", "body": "x" * 200}, token=self.token)
            self.doc_ids.append(doc["id"])

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_child(proc, timeout=20)
        self.procs.clear()
        self.stack.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"bench: kept {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _post(url: str, payload: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback URLs we build
        result: dict[str, Any] = json.loads(response.read())
        return result


def _answers_200(url: str) -> bool:
    return http_status(url) == 200
