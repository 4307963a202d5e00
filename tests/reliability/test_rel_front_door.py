"""The front door (nginx, the local ALB) as clients see it: no redirect that could lose the address the client
used, and errors in the API's shape whoever writes them."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/v1/documents/", "/v1/reports/summary/", "/healthz/"])
def test_a_trailing_slash_is_a_json_404_not_a_redirect(api: httpx.Client, path: str) -> None:
    response = api.get(path, follow_redirects=False)
    assert response.status_code == 404, (response.status_code, response.headers.get("location"))
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_trace_at_the_front_door_is_a_json_405_with_allow(api: httpx.Client) -> None:
    response = api.request("TRACE", "/v1/documents")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert "GET" in response.headers["allow"]
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_undeclared_method_on_a_resource_is_the_apis_405_listing_its_methods(
    api: httpx.Client,
) -> None:
    response = api.request("PATCH", "/v1/documents")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    assert "PATCH" not in response.headers["allow"]
    assert response.json()["error"]["code"] == "method_not_allowed"
