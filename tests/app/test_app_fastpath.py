"""The raw ASGI path for GET /v1/documents/{id} and /healthz (app/fastpath.py): it serves exactly those
requests, labels them with the router's templates, and answers what the Starlette routes answer."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from app_support import Procs, create_document, free_port, http_status
from starlette.routing import Route

from app.fastpath import FastPath
from app.main import ALL_ROUTES, build_routes
from tests.support.clients import User
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def _call(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[bool, dict, list]:
    """One request through FastPath in front of an app that records being called."""
    routed: list[bool] = []

    async def router(scope: Any, receive: Any, send: Any) -> None:
        routed.append(True)

    fast = FastPath(router, build_routes(ALL_ROUTES))
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    app = SimpleNamespace(state=SimpleNamespace(services=None))
    scope: dict = {"type": "http", "method": method, "path": path, "headers": headers or [], "app": app}
    asyncio.run(fast(scope, receive, send))  # type: ignore[arg-type]
    return bool(routed), scope, sent


@pytest.mark.unit
def test_it_serves_the_two_routes_with_the_routers_templates() -> None:
    routed, scope, sent = _call("GET", "/healthz")
    assert not routed
    assert isinstance(scope["route"], Route)
    assert scope["route"].path == "/healthz"
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"status":"ok"}'

    routed, scope, sent = _call("GET", "/v1/documents/0f4a", [(b"x-other", b"1")])
    assert not routed
    assert scope["route"].path == "/v1/documents/{doc_id}"
    assert sent[0]["status"] == 401
    assert (b"www-authenticate", b'Bearer realm="nexus"') in sent[0]["headers"]
    assert sent[1]["body"] == b'{"error":{"code":"unauthorized","message":"a bearer token is required"}}'


@pytest.mark.unit
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/v1/documents/0f4a"),
        ("PUT", "/v1/documents/0f4a"),
        ("DELETE", "/v1/documents/0f4a"),
        ("GET", "/v1/documents/0f4a/attachments"),
        ("GET", "/v1/documents/"),
        ("GET", "/v1/documents"),
        ("POST", "/healthz"),
        ("GET", "/healthz/"),
    ],
)
def test_everything_else_goes_to_starlette(method: str, path: str) -> None:
    routed, scope, sent = _call(method, path)
    assert routed
    assert "route" not in scope
    assert not sent


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in {"date", "x-request-id"}}
    return response.status_code, response.content, headers


@pytest.mark.integration
def test_the_fast_path_answers_what_the_starlette_routes_answer(
    api: httpx.Client, new_user: Any, local_stack: Any, tmp_path: Path
) -> None:
    user: User = new_user("acme")
    other: User = new_user("globex")
    doc = create_document(api, user)
    port = free_port()
    env = dict(os.environ) | local_stack.app_env
    env |= {
        "NEXUS_PORT": str(port),
        "NEXUS_WORKERS": "1",
        "PYTHONPATH": str(REPO),
        "NEXUS_FAST_PATH": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    procs = Procs(tmp_path, REPO)
    try:
        procs.start("api", [sys.executable, "-m", "app.serve"], env)
        wait_until(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=30, what="the API")
        fast, routed = local_stack.api_url(0), f"http://127.0.0.1:{port}"
        cases = [
            ("/healthz", {}),
            (f"/v1/documents/{doc['id']}", user.headers),
            (f"/v1/documents/{doc['id']}", other.headers),  # another tenant's: 404
            ("/v1/documents/not-a-uuid", user.headers),
            (f"/v1/documents/{doc['id']}", {}),
            (f"/v1/documents/{doc['id']}", {"authorization": "Bearer nonsense"}),
            (f"/v1/documents/{doc['id']}", {"authorization": "Basic abc"}),
        ]
        for path, headers in cases:
            a = httpx.get(fast + path, headers=headers, timeout=10)
            b = httpx.get(routed + path, headers=headers, timeout=10)
            assert _comparable(a) == _comparable(b), path
        metrics = httpx.get(fast + "/metrics", timeout=10).text
        assert (
            'nexus_http_requests_total{method="GET",route="/v1/documents/{doc_id}",status="401"}' in metrics
        )
        assert 'nexus_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    finally:
        procs.stop_all()
