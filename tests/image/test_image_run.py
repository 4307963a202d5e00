"""The API image run as the rendered manifests say (read-only root, uid 10001, no capabilities, no privilege
escalation, a tmpfs on /tmp only) against the session's local stack: the API, the worker, the migrations
and the drain on SIGTERM."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg2
import pytest
from image_support import (
    Container,
    api_run,
    container,
    container_env,
    free_port,
    migrate_run,
    pod_spec,
    podman,
    startup_budget_seconds,
    status,
    wait_until,
    worker_run,
)
from jsonschema import Draft202012Validator

from devstack import LocalStack
from devstack.appenv import migration_environment
from devstack.image import Built
from tests.support.waiting import wait_replayed

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class RunningApi:
    def __init__(self, box: Container, port: int) -> None:
        self.box = box
        self.url = f"http://127.0.0.1:{port}"


def _start_api(api_image: Built, local_stack: LocalStack) -> Iterator[RunningApi]:
    run = api_run()
    port = free_port()
    env = container_env(local_stack, NEXUS_HOST="127.0.0.1", NEXUS_PORT=str(port))
    with container(api_image.image, run, env=env) as box:
        api = RunningApi(box, port)
        # Kubernetes gives the pod startupProbe.periodSeconds x failureThreshold to answer, then readiness.
        budget = startup_budget_seconds(pod_spec("Deployment", "api"), "api")
        wait_until(
            lambda: status(api.url + run.probes["readinessProbe"]) == 200,
            timeout=budget,
            what="ready",
            box=box,
        )
        yield api


@pytest.fixture(scope="module")
def api(api_image: Built, local_stack: LocalStack) -> Iterator[RunningApi]:
    yield from _start_api(api_image, local_stack)


def _account(client: httpx.Client, tenant: str) -> dict[str, str]:
    creds = {"tenant": tenant, "email": f"img-{secrets.token_hex(6)}@example.com", "password": "image " * 3}
    assert client.post("/v1/auth/register", json=creds).status_code == 201
    token = client.post("/v1/auth/token", json=creds)
    assert token.status_code == 200, token.text
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def _tenant(local_stack: LocalStack) -> str:
    return sorted(local_stack.tenant_map["tenants"])[0]


def test_the_probe_paths_of_the_manifest_answer(api: RunningApi) -> None:
    for kind, path in api_run().probes.items():
        assert status(api.url + path) == 200, kind


class Contract:
    """Responses checked against the schemas of the container's own /openapi.json."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.spec: dict[str, Any] = client.get("/openapi.json").json()

    def check(self, response: httpx.Response, path: str, method: str) -> Any:
        operation = self.spec["paths"][path][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{method} {path}: undocumented {response.status_code}: {response.text}"
        )
        content = documented.get("content", {})
        if not content:
            return None
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{method} {path}: {media} is not among {sorted(content)}"
        body = response.json()
        schema = {**content[media]["schema"], "components": self.spec.get("components", {})}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
        assert errors == [], f"{method} {path} {response.status_code}: {errors}"
        return body


def test_contract_smoke_through_its_own_port(api: RunningApi, local_stack: LocalStack) -> None:
    with httpx.Client(base_url=api.url, timeout=10.0) as client:
        contract = Contract(client)
        creds = {"tenant": _tenant(local_stack), "email": f"img-{secrets.token_hex(6)}@example.com"}
        creds["password"] = "image smoke " + secrets.token_hex(4)
        contract.check(client.post("/v1/auth/register", json=creds), "/v1/auth/register", "post")
        token = contract.check(client.post("/v1/auth/token", json=creds), "/v1/auth/token", "post")
        headers = {"authorization": f"Bearer {token['access_token']}"}
        made = client.post("/v1/documents", json={"title": "from the image", "body": "b"}, headers=headers)
        doc = contract.check(made, "/v1/documents", "post")
        got = client.get(f"/v1/documents/{doc['id']}", headers=headers)
        assert contract.check(got, "/v1/documents/{doc_id}", "get")["title"] == "from the image"
        # Lists read a replica (docs/app.md): wait until the shard's replicas have replayed the create.
        shard_id = local_stack.tenant_map["tenants"][creds["tenant"]]
        shard = next(s for s in local_stack.topology.shards if s.id == shard_id)
        for replica in range(shard.read_replicas):
            wait_replayed(local_stack, shard_id, replica)
        # The tenant is shared with other tests and lists are oldest first: page through to the new document.
        listed_ids: list[str] = []
        params: dict[str, str] = {"limit": "100"}
        while True:
            page = client.get("/v1/documents", params=params, headers=headers)
            listed = contract.check(page, "/v1/documents", "get")
            listed_ids += [item["id"] for item in listed["items"]]
            if not listed["next_cursor"]:
                break
            params["cursor"] = listed["next_cursor"]
        assert doc["id"] in listed_ids
        # An attachment over a megabyte spools to a temporary file: /tmp, the one writable place.
        files = {"file": ("big.bin", b"x" * 1_500_000, "application/octet-stream")}
        upload = client.post(f"/v1/documents/{doc['id']}/attachments", files=files, headers=headers)
        contract.check(upload, "/v1/documents/{doc_id}/attachments", "post")
        unauthorised = client.get("/v1/documents")
        assert contract.check(unauthorised, "/v1/documents", "get")["error"]["code"]


def test_only_tmp_is_writable(api: RunningApi) -> None:
    probe = (
        "import json\n"
        "result = {}\n"
        "for d in ('/', '/srv/app', '/opt/venv', '/etc', '/var/tmp', '/run', '/home', '/tmp'):\n"
        "    try:\n"
        "        open(d.rstrip('/') + '/probe', 'w').close()\n"
        "        result[d] = 'written'\n"
        "    except OSError as exc:\n"
        "        result[d] = exc.strerror\n"
        "print(json.dumps(result))\n"
    )
    result = podman("exec", api.box.name, "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    written = [d for d, outcome in json.loads(result.stdout).items() if outcome == "written"]
    assert written == ["/tmp"], result.stdout


def _slow_upload(
    url: str, headers: dict[str, str], outcome: dict[str, Any], started: threading.Event
) -> None:
    boundary = "nexus-image-drain"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        started.set()
        for _ in range(20):  # 2 MB over about 4 s: in flight when SIGTERM arrives
            time.sleep(0.2)
            yield b"y" * 100_000
        yield tail

    try:
        response = httpx.post(
            url,
            content=body(),
            headers={**headers, "content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=60.0,
        )
        outcome["status"] = response.status_code
    except httpx.HTTPError as exc:
        outcome["error"] = repr(exc)


def test_sigterm_drains_in_flight_requests_within_the_grace_period(
    api_image: Built, local_stack: LocalStack
) -> None:
    run = api_run()
    for api in _start_api(api_image, local_stack):
        with httpx.Client(base_url=api.url) as client:
            headers = _account(client, _tenant(local_stack))
            doc = client.post("/v1/documents", json={"title": "t", "body": "b"}, headers=headers).json()
        outcome: dict[str, Any] = {}
        started = threading.Event()
        upload = threading.Thread(
            target=_slow_upload,
            args=(f"{api.url}/v1/documents/{doc['id']}/attachments", headers, outcome, started),
        )
        upload.start()
        assert started.wait(10)
        time.sleep(0.5)
        signalled = time.monotonic()
        # Kubernetes runs preStop first (the pod keeps serving), then SIGTERM; what is left of the grace
        # period after preStop is the app's to drain in.
        api.box.signal("TERM")
        exit_code = api.box.wait(timeout=run.grace_seconds)
        drained_in = time.monotonic() - signalled
        upload.join(timeout=30)
        print(
            f"drained in {drained_in:.1f} s (grace {run.grace_seconds} s, preStop {run.pre_stop_seconds} s)"
        )
        assert outcome == {"status": 201}, outcome
        assert drained_in < run.grace_seconds - run.pre_stop_seconds
        # uvicorn exits by re-raising SIGTERM after a clean shutdown: 128 + 15.
        assert exit_code in (0, 143), api.box.logs()[-3000:]
        assert status(api.url + "/healthz") == 0, "no longer listening"


def test_the_worker_completes_an_export_job(
    api_image: Built, local_stack: LocalStack, api: RunningApi
) -> None:
    # The stack's own worker would take the job: stop it for the test, start it again afterwards.
    local_stack.kill_worker()
    try:
        with container(api_image.image, worker_run(), env=container_env(local_stack)) as box:
            with httpx.Client(base_url=api.url, timeout=10.0) as client:
                headers = _account(client, _tenant(local_stack))
                for i in range(3):
                    made = client.post("/v1/documents", json={"title": f"e{i}", "body": "b"}, headers=headers)
                    assert made.status_code == 201
                job = client.post("/v1/exports", headers=headers)
                assert job.status_code == 202, job.text
                job_id = job.json()["job_id"]

                def done() -> bool:
                    state = client.get(f"/v1/exports/{job_id}", headers=headers).json()
                    assert state["status"] != "failed", state
                    return bool(state["status"] == "done")

                wait_until(done, timeout=60, what="export done", box=box)
                final = client.get(f"/v1/exports/{job_id}", headers=headers).json()
                exported = httpx.get(final["download_url"], timeout=10.0)
                assert exported.status_code == 200
                titles = {json.loads(line)["title"] for line in exported.text.splitlines()}
                assert {"e0", "e1", "e2"} <= titles
            box.signal("TERM")
            assert box.wait(timeout=worker_run().grace_seconds) in (0, 143), box.logs()[-3000:]
    finally:
        local_stack.start_worker()


def _fresh_databases(local_stack: LocalStack, name: str) -> dict[str, Any]:
    """A tenant map whose shards point at new, empty databases on their primaries."""
    tenant_map = local_stack.tenant_map
    for shard_id, shard in tenant_map["shards"].items():
        # Owned by the owner role, as the migrations run (the app role only gets DML from them).
        local_stack.psql(shard_id, f'CREATE DATABASE "{name}" OWNER nexus_owner')
        primary = {"host": "127.0.0.1", "port": local_stack.ports.primary(shard_id)}
        shard.update(writer=primary, readers=[primary], database=name, readerDatabase=name)
    return tenant_map


def _schema(local_stack: LocalStack, shard_id: str, name: str) -> list[tuple[Any, ...]]:
    dsn = local_stack.primary_dsn(shard_id, superuser=True).rsplit("/", 1)[0] + f"/{name}"
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2"
        )
        columns = cursor.fetchall()
        cursor.execute("SELECT version_num FROM alembic_version")
        result = [*columns, *cursor.fetchall()]
    connection.close()
    return result


def test_the_migrations_run_and_are_idempotent(api_image: Built, local_stack: LocalStack) -> None:
    name = f"nexus_image_{secrets.token_hex(4)}"
    tenant_map = _fresh_databases(local_stack, name)
    run = migrate_run()
    try:
        schemas = []
        for _ in range(2):
            # What the migration Job gets on top of the pods' settings: the owners' passwords.
            env = container_env(local_stack, tenant_map) | migration_environment(
                local_stack.topology, local_stack.secrets
            )
            with container(api_image.image, run, env=env) as box:
                assert box.wait(timeout=300) == 0, box.logs()[-3000:]
            schemas.append({shard: _schema(local_stack, shard, name) for shard in tenant_map["shards"]})
        first, second = schemas
        for shard, columns in first.items():
            assert any(row[0] == "documents" for row in columns), f"{shard}: the migrations made the tables"
        assert second == first, "a second run changes nothing"
    finally:
        for shard_id in tenant_map["shards"]:
            local_stack.psql(shard_id, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
