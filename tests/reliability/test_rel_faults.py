"""Faults under load on the real local stack: each test runs a bounded load through nginx, breaks one
service in the middle, repairs it, and then checks what clients saw and what the databases hold.

Every figure a test measures is printed as a ``RELIABILITY {json}`` line (``pytest -s``, or appended to
``$NEXUS_RELIABILITY_REPORT``); docs/reliability.md quotes a real run.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg2
import pytest
from rel_support import (
    LoadRun,
    Outcome,
    Step,
    StepFn,
    repair,
    report,
    run_load,
)

from devstack import LocalStack
from tests.support.clients import User, fully_ready
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OK = {200, 201}
# PgBouncer retries a failed server login after 1 s (devstack's server_login_retry); the rest is slack for a
# loaded machine. Refusals after this are a failure; the figures report the real window.
SETTLE_SECONDS = 2.5


@pytest.fixture(autouse=True)
def repaired(local_stack: LocalStack) -> Iterator[None]:
    """Whatever a test broke is running again before the next test starts."""
    yield
    started = repair(local_stack)
    assert not started, f"the test left {started} stopped"


@pytest.fixture(scope="module")
def client(local_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=30.0) as c:
        yield c


def _docs(client: httpx.Client, user: User, count: int, tag: str) -> list[str]:
    ids = []
    for i in range(count):
        created = client.post(
            "/v1/documents", json={"title": f"{tag}-seed-{i}", "body": "seed"}, headers=user.headers
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def _writer_rows(stack: LocalStack, shard: str, tag: str) -> dict[str, str]:
    """title -> id of the rows a run wrote (read as the superuser on the primary: the truth)."""
    # tag is hex made by the test.
    out = stack.psql(shard, f"SELECT title, id FROM documents WHERE title LIKE '{tag}-w-%'")  # noqa: S608
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    titles = [title for title, _ in rows]
    assert len(titles) == len(set(titles)), "a write was applied twice"
    return dict(rows)  # type: ignore[arg-type]


def _reconcile(run: LoadRun, stack: LocalStack, shard: str, tag: str, op: str) -> dict[str, int]:
    """Every acknowledged write is in the table with the id the client got; a refused write (503) is either
    absent or, when the connection died after COMMIT, present once (an ambiguous commit, never a half one)."""
    rows = _writer_rows(stack, shard, tag)
    acked = {o.ref: run.bodies[o.ref]["id"] for o in run.outcomes if o.op == op and o.status == 201}
    refused = {o.ref for o in run.outcomes if o.op == op and o.status != 201}
    lost = {title for title in acked if title not in rows}
    assert not lost, f"acknowledged writes missing after the fault: {sorted(lost)[:5]}"
    assert all(rows[title] == doc_id for title, doc_id in acked.items()), "a row's id differs from the 201"
    unexplained = set(rows) - set(acked) - refused
    assert not unexplained, f"rows no request wrote: {sorted(unexplained)[:5]}"
    return {
        "acknowledged": len(acked),
        "refused": len(refused),
        "refused_but_committed": len(refused & set(rows)),
        "rows": len(rows),
        "lost": len(lost),
    }


def _writes_and_reads(user: User, doc_ids: list[str], tag: str, *, write_every: int = 3) -> StepFn:
    """POST a document with a unique title every ``write_every`` steps, else GET a seeded document."""

    async def step(client: httpx.AsyncClient, n: int) -> Step:
        if n % write_every == 0:
            title = f"{tag}-w-{n}"
            try:
                r = await client.post(
                    "/v1/documents", json={"title": title, "body": f"load {n}"}, headers=user.headers
                )
            except httpx.HTTPError as exc:
                return Step("write", 0, title, error=type(exc).__name__)
            body = r.json() if r.status_code == 201 else None
            return Step("write", _checked_status(r), title, body)
        try:
            r = await client.get(f"/v1/documents/{doc_ids[n % len(doc_ids)]}", headers=user.headers)
        except httpx.HTTPError as exc:
            return Step("read", 0, error=type(exc).__name__)
        return Step("read", _checked_status(r))

    return step


def _checked_status(response: httpx.Response) -> int:
    """The status, with a 503 that lacks Retry-After (clients would not know to retry) turned into -503."""
    if response.status_code == 503 and "retry-after" not in response.headers:
        return -503
    return response.status_code


def _window(outcomes: list[Outcome]) -> float:
    if not outcomes:
        return 0.0
    return round(max(o.ended for o in outcomes) - min(o.started for o in outcomes), 3)


# ----------------------------------------------------------------------------------------------- Redis


def test_redis_stopped_reads_and_writes_go_on(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    user = new_user("acme")
    tag = f"redis{secrets.token_hex(3)}"
    doc_ids = _docs(client, user, 8, tag)
    for doc_id in doc_ids:  # warm the cache, so that reads first come from Redis
        assert client.get(f"/v1/documents/{doc_id}", headers=user.headers).status_code == 200
    ready_body: dict[str, Any] = {}
    recovery: dict[str, float] = {}

    def not_ready() -> None:
        def named() -> bool:
            response = client.get("/readyz")
            ready_body.update(response.json())
            # Degraded, not unready: the pod still serves every tenant (reads without the cache).
            return response.status_code == 200 and ready_body.get("failing") == ["redis"]

        wait_until(named, timeout=10, what="/readyz to name redis")
        time.sleep(3)  # keep serving with Redis gone

    def back() -> None:
        began = time.monotonic()
        local_stack.start_redis()
        recovery["redis_started_s"] = time.monotonic() - began
        recovery["ready_after_start_s"] = wait_until(
            lambda: fully_ready(client), timeout=30, what="/readyz ready"
        )

    run = asyncio.run(
        run_load(
            local_stack.url,
            _writes_and_reads(user, doc_ids, tag),
            faults=[("stop_redis", local_stack.stop_redis), ("down", not_ready), ("start_redis", back)],
            tail=2.0,
        )
    )
    during = [o for o in run.started_after("stop_redis:done") if o.started < run.marks["start_redis"]]
    failures = run.failed(lambda o: o.status in OK)
    figures = _reconcile(run, local_stack, "shard-a", tag, "write")
    # After recovery the queue works again: an export is accepted.
    queued = client.post("/v1/exports", headers=user.headers)
    report(
        "redis-stopped",
        **run.summary(),
        during_outage=len(during),
        failures=len(failures),
        readyz_failing=ready_body.get("failing"),
        export_after_recovery=queued.status_code,
        **{k: round(v, 3) for k, v in recovery.items()},
        **figures,
    )
    assert len(during) > 20, "the load ran while Redis was down"
    assert not failures, failures[:5]
    assert ready_body["checks"]["redis"] != "ok"
    assert queued.status_code == 202, queued.text


# -------------------------------------------------------------------------------------------- replica


def test_replica_stopped_reads_fall_back_to_the_writer(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    user = new_user("initech")  # shard-b
    _docs(client, user, 3, f"rep{secrets.token_hex(3)}")

    async def step(c: httpx.AsyncClient, n: int) -> Step:
        if n % 2:
            return Step("list", _checked_status(await c.get("/v1/documents?limit=5", headers=user.headers)))
        return Step("report", _checked_status(await c.get("/v1/reports/summary", headers=user.headers)))

    def hold() -> None:
        time.sleep(4)  # every API process meets the stopped replica, and reads go on from the writer

    run = asyncio.run(
        run_load(
            local_stack.url,
            step,
            faults=[
                ("stop_replica", lambda: local_stack.stop_replica("shard-b")),
                ("down", hold),
                ("start_replica", lambda: local_stack.start_replica("shard-b")),
            ],
        )
    )
    stopped_at = run.marks["stop_replica:done"]
    failures = run.failed(lambda o: o.status == 200)
    after_detection = [o for o in failures if o.started >= stopped_at]
    during = [o for o in run.started_after("stop_replica:done") if o.started < run.marks["start_replica"]]
    report(
        "replica-stopped",
        **run.summary(),
        during_outage=len(during),
        failures=len(failures),
        failures_in_flight_at_stop=len(failures) - len(after_detection),
        failures_after_stop=len(after_detection),
        failure_window_s=_window(failures),
    )
    assert len(during) > 20, "the load ran while the replica was down"
    assert not after_detection, after_detection[:5]
    assert {o.status for o in failures} <= {503}, failures[:5]
    # Reads go back to the replica once it streams again (readiness probes clear the mark at once).
    wait_until(lambda: fully_ready(client), timeout=30, what="/readyz ready after the replica")


# ----------------------------------------------------------------------------------------- PgBouncer


def test_pgbouncer_restart_is_a_retry_or_a_503_never_a_partial_write(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    user = new_user("globex")  # shard-a, through PgBouncer like every writer request
    _restart_under_writes(
        local_stack,
        client,
        user,
        "pgb",
        "pgbouncer-restarted",
        "restart_pgbouncer",
        local_stack.restart_pgbouncer,
    )


# ------------------------------------------------------------------------------------------- primary


def test_primary_restart_loses_no_acknowledged_write(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    user = new_user("acme")
    figures = _restart_under_writes(
        local_stack,
        client,
        user,
        "pri",
        "primary-restarted",
        "restart_primary",
        lambda: local_stack.restart_primary("shard-a"),
    )
    assert figures["lost"] == 0


def _restart_under_writes(
    local_stack: LocalStack,
    client: httpx.Client,
    user: User,
    tag_prefix: str,
    scenario: str,
    fault_name: str,
    fault: Callable[[], object],
) -> dict[str, int]:
    """Restart a part of shard-a's write path under a write-heavy load; reconcile every acknowledged write.

    Requests may get a 503 while the part is down, nothing else, and succeed again soon after it returns.
    """
    tag = f"{tag_prefix}{secrets.token_hex(3)}"
    doc_ids = _docs(client, user, 5, tag)
    run = asyncio.run(
        run_load(
            local_stack.url,
            _writes_and_reads(user, doc_ids, tag, write_every=2),
            faults=[(fault_name, fault)],
            tail=SETTLE_SECONDS + 2.0,
        )
    )
    failures = run.failed(lambda o: o.status in OK)
    figures = _reconcile(run, local_stack, "shard-a", tag, "write")
    report(
        scenario,
        **run.summary(),
        failures=len(failures),
        failure_statuses=sorted({o.status for o in failures}),
        failure_window_s=_window(failures),
        **figures,
    )
    assert {o.status for o in failures} <= {503}, failures[:5]
    settled = run.marks[f"{fault_name}:done"] + SETTLE_SECONDS
    after = [o for o in run.outcomes if o.started > settled]
    assert after, "the load went on after the restart"
    assert all(o.status in OK for o in after), "requests succeed again soon after the restart"
    return figures


# ------------------------------------------------------------------------------------------ API SIGTERM


def test_sigterm_to_a_drained_api_instance_fails_no_request(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    """The Kubernetes order: the target leaves the balancer (preStop), then the pod gets SIGTERM."""
    user = new_user("umbrella")
    tag = f"term{secrets.token_hex(3)}"
    doc_ids = _docs(client, user, 5, tag)
    codes: dict[str, int | None] = {}

    def sigterm() -> None:
        codes["exit"] = local_stack.stop_api(1)

    run = asyncio.run(
        run_load(
            local_stack.url,
            _writes_and_reads(user, doc_ids, tag),
            faults=[
                ("drain", lambda: local_stack.drain_api(1)),
                ("sigterm", sigterm),
                ("start", lambda: local_stack.start_api(1)),
                ("undrain", lambda: local_stack.undrain_api(1)),
            ],
            # nginx applies a drain by reloading, and its old workers close their idle client connections:
            # an ALB deregistration touches no client connection, so clients here open one per request.
            keepalive=False,
        )
    )
    failures = run.failed(lambda o: o.status in OK)
    figures = _reconcile(run, local_stack, "shard-b", tag, "write")
    report("api-sigterm-drained", **run.summary(), failures=len(failures), exit_code=codes["exit"], **figures)
    assert codes["exit"] in (0, -signal.SIGTERM)
    assert not failures, failures[:5]


def test_sigterm_without_draining_counts_what_nginx_absorbs(
    local_stack: LocalStack, client: httpx.Client, new_user: Callable[[str], User]
) -> None:
    """No deregistration first: nginx retries what it can; the figures say what a client would see."""
    user = new_user("umbrella")
    tag = f"kill{secrets.token_hex(3)}"
    doc_ids = _docs(client, user, 5, tag)
    run = asyncio.run(
        run_load(
            local_stack.url,
            _writes_and_reads(user, doc_ids, tag),
            faults=[
                ("sigterm", lambda: local_stack.stop_api(0)),
                ("start", lambda: local_stack.start_api(0)),
            ],
        )
    )
    failures = run.failed(lambda o: o.status in OK)
    figures = _reconcile(run, local_stack, "shard-b", tag, "write")
    report(
        "api-sigterm-undrained",
        **run.summary(),
        failures=len(failures),
        failed_reads=sum(o.op == "read" for o in failures),
        failed_writes=sum(o.op == "write" for o in failures),
        **figures,
    )
    assert not [o for o in failures if o.op == "read"], "nginx retries idempotent reads on the other instance"


# --------------------------------------------------------------------------------------------- worker


def _hold_documents_lock(stack: LocalStack, shard: str) -> Any:
    """A superuser transaction holding ACCESS EXCLUSIVE on documents: an export's SELECT waits on it, so the
    job is deterministically in the middle of its run."""
    conn = psycopg2.connect(stack.primary_dsn(shard, superuser=True))
    cur = conn.cursor()
    cur.execute("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
    return conn


def test_worker_killed_mid_job_is_retried_and_completes_once(
    local_stack: LocalStack,
    client: httpx.Client,
    new_user: Callable[[str], User],
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = new_user("umbrella")  # shard-b
    _docs(client, user, 3, f"job{secrets.token_hex(3)}")
    # A short job timeout, so that the killed job's lease (timeout + 10 s) runs out within the test.
    monkeypatch.setenv("NEXUS_JOB_TIMEOUT_SECONDS", "6")
    local_stack.kill_worker()
    local_stack.start_worker()
    state: dict[str, Any] = {}

    def job_state() -> dict[str, Any]:
        state.update(client.get(f"/v1/exports/{job_id}", headers=user.headers).json())
        return state

    lock = _hold_documents_lock(local_stack, "shard-b")
    try:
        # With an Idempotency-Key the job id needs no database read, which the lock would block.
        key = {"idempotency-key": f"rel-{secrets.token_hex(8)}"}
        accepted = client.post("/v1/exports", headers=user.headers | key, timeout=30)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        wait_until(lambda: job_state()["status"] == "running", timeout=20, what="the job to start")
        killed_at = time.monotonic()
        assert local_stack.kill_worker() == -signal.SIGKILL
    finally:
        lock.rollback()
        lock.close()
    expected = int(
        local_stack.psql("shard-b", "SELECT count(*) FROM documents WHERE tenant_id = 'umbrella'").strip()
    )
    local_stack.start_worker()
    retried_after = killed_at + wait_until(
        lambda: job_state()["status"] in ("done", "failed"), timeout=60, what="the retried job"
    )
    final = dict(state)
    bucket = local_stack.s3_bucket
    key = f"tenants/umbrella/exports/{job_id}.jsonl"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"tenants/umbrella/exports/{job_id}")
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
    log = local_stack.log_path("worker").read_text()
    done_lines = [line for line in log.splitlines() if job_id in line and '"msg":"export done"' in line]
    report(
        "worker-killed-mid-job",
        job_id=job_id,
        status=final["status"],
        attempts=final.get("attempts"),
        seconds_from_kill_to_done=round(retried_after - killed_at, 2),
        objects=len(listed.get("Contents", [])),
        lines=len(lines),
        expected_documents=expected,
        done_log_lines=len(done_lines),
    )
    assert final["status"] == "done", final
    assert final["attempts"] == 2, "the killed try counts, the second completes"
    assert len(listed["Contents"]) == 1
    assert len(lines) == expected
    assert len({json.loads(line)["id"] for line in lines}) == expected
    assert len(done_lines) == 1, "the job completed exactly once"
    # Back to the stack's own worker settings for the tests that follow.
    monkeypatch.delenv("NEXUS_JOB_TIMEOUT_SECONDS")
    local_stack.kill_worker()
    local_stack.start_worker()
