"""Every authenticated operation refuses a caller without a valid token, through nginx on the local stack.

The operations come from the running app's own OpenAPI document (``GET /openapi.json``), which is built from
the same route specs the router is built from (tests/app/test_app_openapi.py checks that every route is
described): a new route is covered without touching this file. An operation is authenticated when the
document gives it the ``bearerAuth`` security requirement; the few public ones are listed below, so that a
route turning public by mistake fails too.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

# The public operations: sign-up and sign-in, and what probes, scrapers and clients read before they log in.
PUBLIC = {
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/token"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
}


def _operations(api: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    response = api.get("/openapi.json")
    assert response.status_code == 200, response.text
    paths: dict[str, dict[str, Any]] = response.json()["paths"]
    return [(method.upper(), path, op) for path, ops in paths.items() for method, op in ops.items()]


def _authenticated(api: httpx.Client) -> list[tuple[str, str]]:
    operations = [(m, p) for m, p, op in _operations(api) if {"bearerAuth": []} in op.get("security", [])]
    assert len(operations) >= 5, f"the document lists too few authenticated operations: {operations}"
    return operations


def _concrete(path: str) -> str:
    """The path with every parameter replaced by an id that exists nowhere."""
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_only_the_known_operations_are_public(api: httpx.Client) -> None:
    public = {(m, p) for m, p, op in _operations(api) if not op.get("security")}
    assert public == PUBLIC


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("Bearer", "unauthorized"),
        ("Basic dXNlcjpwYXNz", "unauthorized"),
        ("Bearer not-a-token", "invalid_token"),
    ],
    ids=["no-header", "scheme-only", "basic-auth", "garbage-token"],
)
def test_every_authenticated_operation_refuses_an_anonymous_request(
    api: httpx.Client, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answered = {}
    for method, path in _authenticated(api):
        response = api.request(method, _concrete(path), headers=headers)
        error = response.json().get("error", {}) if response.status_code == 401 else {}
        answered[f"{method} {path}"] = (
            response.status_code,
            response.headers.get("www-authenticate", "").split(" ")[0],
            error.get("code"),
        )
    assert {op: got for op, got in answered.items() if got != (401, "Bearer", code)} == {}
