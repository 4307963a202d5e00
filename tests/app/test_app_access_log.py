"""The access log's modes (NEXUS_ACCESS_LOG): `errors` by default, `all` locally, `off`; metrics count every
request whatever the mode, and every response carries its request id."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import ValidationError

from app.core.metrics import Metrics
from app.core.settings import build_settings
from app.main import ObservabilityMiddleware

pytestmark = pytest.mark.unit


def _serve(mode: str, path: str, status: int, caplog: pytest.LogCaptureFixture) -> tuple[list[str], dict]:
    """One request through the middleware in front of an app that answers `status`; the access lines' routes
    and what the metrics registry holds."""

    class _Route:
        def __init__(self, template: str) -> None:
            self.path = template

    async def inner(scope: dict, receive: object, send: object) -> None:
        scope["route"] = _Route(path)
        await send({"type": "http.response.start", "status": status, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]

    metrics = Metrics()
    middleware = ObservabilityMiddleware(inner, metrics, mode)  # type: ignore[arg-type]
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": ("10.0.0.9", 1234)}
    with caplog.at_level(logging.INFO, logger="app.access"):
        caplog.clear()
        asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    assert any(k == b"x-request-id" for k, _ in sent[0]["headers"]), "every response carries its request id"
    lines = [r.__dict__["route"] for r in caplog.records if r.name == "app.access"]
    count = metrics.requests.labels("GET", path, str(status))._value.get()
    return lines, {"requests": count}


@pytest.mark.parametrize(
    ("mode", "status", "logged"),
    [
        ("errors", 200, False),
        ("errors", 404, True),
        ("errors", 503, True),
        ("all", 200, True),
        ("off", 500, False),
    ],
)
def test_which_requests_get_an_access_line(
    mode: str, status: int, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    lines, metrics = _serve(mode, "/v1/documents/{doc_id}", status, caplog)
    assert lines == (["/v1/documents/{doc_id}"] if logged else [])
    assert metrics["requests"] == 1, "the request metrics count every request, logged or not"


def test_probes_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert _serve("all", "/healthz", 503, caplog)[0] == []


def test_the_default_is_errors_and_booleans_keep_their_meaning(app_environ: dict[str, str]) -> None:
    assert build_settings(app_environ).server.access_log == "errors"
    for value, mode in (("true", "all"), ("1", "all"), ("false", "off"), ("0", "off"), ("ALL", "all")):
        assert build_settings(app_environ | {"NEXUS_ACCESS_LOG": value}).server.access_log == mode
    with pytest.raises(ValidationError, match="access_log"):
        build_settings(app_environ | {"NEXUS_ACCESS_LOG": "sometimes"})
