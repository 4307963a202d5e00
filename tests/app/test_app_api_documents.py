"""Documents: create, read (cache, then writer), keyset lists, optimistic updates, delete."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import redis
from app_support import create_document

from tests.support.clients import User
from tests.support.waiting import wait_replayed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def author(new_user: Any) -> User:
    return new_user("initech")


def test_create_returns_the_document(api: httpx.Client, author: User) -> None:
    doc = create_document(api, author, "first", "hello")
    assert set(doc) == {"id", "title", "body", "version", "created_at", "updated_at"}
    assert (doc["title"], doc["body"], doc["version"]) == ("first", "hello", 1)
    assert doc["created_at"] == doc["updated_at"]
    uuid.UUID(doc["id"])


def test_get_is_served_from_the_cache_when_warm(
    api: httpx.Client, author: User, redis_client: redis.Redis
) -> None:
    doc = create_document(api, author)
    key = f"nexus:doc:{author.tenant}:{doc['id']}"
    ttl = redis_client.ttl(key)
    assert 0 < ttl <= 60, "the create wrote the cache entry with a TTL"
    # Prove the GET reads the cache: change the cached copy behind the API's back.
    redis_client.set(key, redis_client.get(key).replace(b'"title":"t"', b'"title":"from-cache"'), ex=30)
    response = api.get(f"/v1/documents/{doc['id']}", headers=author.headers)
    assert response.status_code == 200
    assert response.json()["title"] == "from-cache"
    # A cold cache falls through to the database and fills the cache again.
    redis_client.delete(key)
    assert api.get(f"/v1/documents/{doc['id']}", headers=author.headers).json()["title"] == "t"
    assert redis_client.exists(key) == 1


def test_update_with_version_and_stale_version_conflict(
    api: httpx.Client, author: User, redis_client: redis.Redis
) -> None:
    doc = create_document(api, author)
    url = f"/v1/documents/{doc['id']}"
    updated = api.put(url, json={"title": "v2", "body": "two", "version": 1}, headers=author.headers)
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    assert updated.json()["updated_at"] > doc["updated_at"]
    stale = api.put(url, json={"title": "v2b", "body": "lost", "version": 1}, headers=author.headers)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    # The cache holds the new version (invalidated by the write, not left stale).
    cached = redis_client.get(f"nexus:doc:{author.tenant}:{doc['id']}")
    assert cached is not None
    assert b'"version":2' in cached
    assert api.get(url, headers=author.headers).json()["title"] == "v2"


def test_delete_then_everything_is_404(api: httpx.Client, author: User) -> None:
    doc = create_document(api, author)
    url = f"/v1/documents/{doc['id']}"
    assert api.delete(url, headers=author.headers).status_code == 204
    assert api.get(url, headers=author.headers).status_code == 404
    assert (
        api.put(url, json={"title": "x", "body": "y", "version": 1}, headers=author.headers).status_code
        == 404
    )
    assert api.delete(url, headers=author.headers).status_code == 404


@pytest.mark.parametrize("doc_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
def test_unknown_ids_are_404(api: httpx.Client, author: User, doc_id: str) -> None:
    response = api.get(f"/v1/documents/{doc_id}", headers=author.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [{"title": "", "body": "x"}, {"title": "x"}, {"title": "x" * 201, "body": ""}, {"title": 1, "body": "x"}],
    ids=["empty-title", "no-body", "long-title", "title-type"],
)
def test_invalid_documents_are_422(api: httpx.Client, author: User, body: dict[str, Any]) -> None:
    assert api.post("/v1/documents", json=body, headers=author.headers).status_code == 422


def test_update_without_version_is_422(api: httpx.Client, author: User) -> None:
    doc = create_document(api, author)
    response = api.put(f"/v1/documents/{doc['id']}", json={"title": "a", "body": "b"}, headers=author.headers)
    assert response.status_code == 422


def test_keyset_pagination_walks_every_document_once(
    api: httpx.Client, new_user: Any, local_stack: Any
) -> None:
    user: User = new_user("umbrella")
    created = [create_document(api, user, f"doc-{i}")["id"] for i in range(5)]
    # Lists come from the replica: wait until it has replayed the inserts.
    wait_replayed(local_stack, local_stack.tenant_map["tenants"]["umbrella"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/documents", params=params, headers=user.headers)
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"] if item["id"] in created]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == created, "every document once, in creation order"
    assert pages >= 3


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "many"}, {"cursor": "garbage!"}],
    ids=["zero", "too-many", "not-int", "bad-cursor"],
)
def test_bad_list_parameters_are_422(api: httpx.Client, author: User, params: dict[str, Any]) -> None:
    assert api.get("/v1/documents", params=params, headers=author.headers).status_code == 422


def test_a_made_up_cursor_of_the_published_form_is_a_page(api: httpx.Client, author: User) -> None:
    """Any cursor the schema allows is a position: this one is after every document, so an empty last page."""
    cursor = "9" * 17 + "." + "f" * 32
    response = api.get("/v1/documents", params={"cursor": cursor}, headers=author.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


def test_an_integer_written_with_a_zero_fraction_is_an_integer(api: httpx.Client, author: User) -> None:
    """JSON Schema counts 1.0 as an integer, so the OpenAPI document allows it; 1.5 stays a 422."""
    doc = create_document(api, author)
    url = f"/v1/documents/{doc['id']}"
    fraction = api.put(url, json={"title": "t", "body": "b", "version": 1.5}, headers=author.headers)
    assert fraction.status_code == 422
    updated = api.put(url, json={"title": "t2", "body": "b", "version": 1.0}, headers=author.headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    big = api.put(url, json={"title": "t", "body": "b", "version": 1e300}, headers=author.headers)
    assert big.status_code == 422, "out of range, not a crash"
