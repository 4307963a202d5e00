"""Ops endpoints, request ids, JSON logs, metrics, and migrations run again (idempotent)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from app_support import create_document
from openapi_spec_validator import validate

from tests.support.clients import User
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_healthz(api: httpx.Client) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_lists_every_shard_role_and_redis(api: httpx.Client) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"] == "ok"
    for shard in ("shard-a", "shard-b"):
        assert body["checks"][shard]["writer"] == "ok"
        assert set(body["checks"][shard]["readers"].values()) == {"ok"}


def test_openapi_document_is_served_and_valid(api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert "/v1/documents/{doc_id}/attachments" in document["paths"]


def test_request_id_is_echoed_or_made(api: httpx.Client, local_stack: Any) -> None:
    # nginx (standing in for the ALB) stamps its own id on every request; the app passes it back.
    assert len(api.get("/healthz").headers["x-request-id"]) == 32
    given = "req-" + uuid.uuid4().hex
    with httpx.Client(base_url=local_stack.api_url(0), timeout=10) as direct:
        assert direct.get("/healthz", headers={"x-request-id": given}).headers["x-request-id"] == given
        assert len(direct.get("/healthz").headers["x-request-id"]) == 32
        unsafe = direct.get("/healthz", headers={"x-request-id": "bad id with spaces"}).headers[
            "x-request-id"
        ]
        assert unsafe != "bad id with spaces"


def test_json_logs_carry_request_id_and_tenant(api: httpx.Client, new_user: Any, local_stack: Any) -> None:
    user: User = new_user("globex")
    request_id = "log-" + uuid.uuid4().hex
    direct = f"{local_stack.api_url(0)}/v1/documents"
    assert httpx.get(direct, headers=user.headers | {"x-request-id": request_id}).status_code == 200
    log_path = local_stack.log_path("api-0")
    # The access line is written once the response has gone out: give it a moment to land.
    wait_until(lambda: request_id in log_path.read_text(), timeout=5, what="the access log line")
    records = [json.loads(line) for line in log_path.read_text().splitlines() if request_id in line]
    access = [r for r in records if r.get("logger") == "app.access"]
    assert len(access) == 1
    assert access[0]["tenant"] == "globex"
    assert access[0]["route"] == "/v1/documents"
    assert access[0]["status"] == 200
    assert access[0]["request_id"] == request_id


def _scrape(local_stack: Any, index: int) -> str:
    return httpx.get(f"{local_stack.api_url(index)}/metrics", timeout=10).text


def test_metrics_cover_requests_pools_cache_and_queue(
    api: httpx.Client, new_user: Any, local_stack: Any
) -> None:
    user: User = new_user("acme")
    doc = create_document(api, user)
    for _ in range(3):
        api.get(f"/v1/documents/{doc['id']}", headers=user.headers)
    api.get("/v1/documents", headers=user.headers)
    text = _scrape(local_stack, 0) + _scrape(local_stack, 1)
    assert 'nexus_http_requests_total{method="GET",route="/v1/documents/{doc_id}",status="200"}' in text
    assert (
        'nexus_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/documents/{doc_id}"}'
        in text
    )
    assert 'nexus_cache_operations_total{result="hit"}' in text
    assert (
        'nexus_db_pool_connections{pool="shard-a.writer",role="writer",shard="shard-a",state="max"}' in text
    )
    assert 'role="reader",shard="shard-a",state="in_use"' in text
    assert "nexus_queue_depth " in text
    # Paths are reported by template, never by raw id (bounded label cardinality).
    assert doc["id"] not in text


def test_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_migrations_run_again_without_change(local_stack: Any) -> None:
    local_stack.migrate()
    local_stack.migrate()
    for shard in ("shard-a", "shard-b"):
        assert local_stack.psql(shard, "SELECT version_num FROM alembic_version").strip() == "0003"
    # Each tenant of the map is registered once, active, on its shard (migration 0003's registry; a
    # tenant moved and moved back by test_app_tenant_move leaves a retired row behind).
    sql = "SELECT tenant FROM shard_tenants WHERE state = 'active' ORDER BY tenant"
    registered = {shard: local_stack.psql(shard, sql).split() for shard in ("shard-a", "shard-b")}
    assert registered == {"shard-a": ["acme", "globex"], "shard-b": ["initech", "umbrella"]}
