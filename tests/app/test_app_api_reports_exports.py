"""Reports from a replica; export jobs through the queue and the worker, idempotent by derived id."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from app_support import create_document

from tests.support.clients import User
from tests.support.waiting import wait_replayed, wait_until

pytestmark = pytest.mark.integration


def test_summary_counts_documents_attachments_and_bytes(
    api: httpx.Client, new_user: Any, local_stack: Any
) -> None:
    user: User = new_user("umbrella")
    before = api.get("/v1/reports/summary", headers=user.headers).json()
    doc = create_document(api, user)
    for size in (10, 20):
        files = {"file": ("f.bin", b"z" * size)}
        assert (
            api.post(f"/v1/documents/{doc['id']}/attachments", files=files, headers=user.headers).status_code
            == 201
        )
    wait_replayed(local_stack, local_stack.tenant_map["tenants"]["umbrella"])
    after = api.get("/v1/reports/summary", headers=user.headers)
    assert after.status_code == 200
    body = after.json()
    assert body["tenant"] == "umbrella"
    assert body["documents"] - before["documents"] == 1
    assert body["attachments"] - before["attachments"] == 2
    assert body["attachment_bytes"] - before["attachment_bytes"] == 30


def poll_export(api: httpx.Client, user: User, job_id: str) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(api.get(f"/v1/exports/{job_id}", headers=user.headers).json())
        return state["status"] in ("done", "failed")

    wait_until(finished, timeout=60, what=f"export {job_id}")
    return state


def test_export_writes_the_tenants_documents_as_json_lines(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("globex")
    docs = [create_document(api, user, f"export-{i}", f"body {i}") for i in range(3)]
    accepted = api.post("/v1/exports", headers=user.headers)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    assert accepted.headers["location"] == f"/v1/exports/{job_id}"
    state = poll_export(api, user, job_id)
    assert state["status"] == "done", state
    lines = httpx.get(state["download_url"], timeout=30).text.splitlines()
    exported = [json.loads(line) for line in lines]
    assert {d["id"] for d in docs} <= {e["id"] for e in exported}
    assert all(set(e) == {"id", "title", "body", "version", "created_at", "updated_at"} for e in exported)


def test_retried_post_maps_to_the_same_job(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("globex")
    create_document(api, user)
    first = api.post("/v1/exports", headers=user.headers | {"Idempotency-Key": "nightly-1"}).json()["job_id"]
    again = api.post("/v1/exports", headers=user.headers | {"Idempotency-Key": "nightly-1"}).json()["job_id"]
    other = api.post("/v1/exports", headers=user.headers | {"Idempotency-Key": "nightly-2"}).json()["job_id"]
    assert first == again
    assert other != first
    # Without a key, the id follows the data: unchanged data, same job; a new document, a new job.
    plain = api.post("/v1/exports", headers=user.headers).json()["job_id"]
    assert api.post("/v1/exports", headers=user.headers).json()["job_id"] == plain
    create_document(api, user)
    assert api.post("/v1/exports", headers=user.headers).json()["job_id"] != plain
    assert poll_export(api, user, first)["attempts"] == 1, "the retried POST did not run the job twice"


def test_unknown_export_is_404(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("globex")
    assert (
        api.get("/v1/exports/exp-0123456789abcdef0123456789abcdef", headers=user.headers).status_code == 404
    )
    assert api.get("/v1/exports/whatever", headers=user.headers).status_code == 404


def test_bad_idempotency_key_is_422(api: httpx.Client, new_user: Any) -> None:
    user: User = new_user("globex")
    response = api.post("/v1/exports", headers=user.headers | {"Idempotency-Key": "k" * 201})
    assert response.status_code == 422
