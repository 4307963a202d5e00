"""Read-your-writes with replication paused: the author sees every write at once; lists lag honestly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_support import create_document

from tests.support.clients import User
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def paused_shard_b(local_stack: Any) -> Iterator[str]:
    local_stack.pause_replay("shard-b")
    try:
        yield "shard-b"
    finally:
        local_stack.resume_replay("shard-b")


def test_author_reads_own_writes_while_the_replica_is_stale(
    api: httpx.Client, new_user: Any, paused_shard_b: str, redis_client: Any
) -> None:
    user: User = new_user("initech")  # initech lives on shard-b
    doc = create_document(api, user, "fresh", "one")
    url = f"/v1/documents/{doc['id']}"
    # The replica has not replayed the insert: a list (served by the replica) does not show it yet.
    listed = api.get("/v1/documents", params={"limit": 100}, headers=user.headers).json()["items"]
    assert doc["id"] not in {item["id"] for item in listed}, "replication is really paused"
    # The author's GET does see it, warm cache or cold (the cold path reads the writer, not the replica).
    assert api.get(url, headers=user.headers).json()["title"] == "fresh"
    redis_client.delete(f"nexus:doc:initech:{doc['id']}")
    assert api.get(url, headers=user.headers).json()["title"] == "fresh"
    updated = api.put(url, json={"title": "newer", "body": "two", "version": 1}, headers=user.headers)
    assert updated.status_code == 200
    assert api.get(url, headers=user.headers).json()["version"] == 2
    redis_client.delete(f"nexus:doc:initech:{doc['id']}")
    assert api.get(url, headers=user.headers).json()["version"] == 2
    # A new attachment's metadata is read from the writer too.
    meta = api.post(f"{url}/attachments", files={"file": ("a.txt", b"abc")}, headers=user.headers).json()
    assert api.get(f"{url}/attachments/{meta['id']}", headers=user.headers).status_code == 200
    # Logging in right after registering works whatever the lag (the token lookup reads the writer).
    assert new_user("initech").token


def test_lists_catch_up_after_replay_resumes(api: httpx.Client, new_user: Any, local_stack: Any) -> None:
    user: User = new_user("initech")
    local_stack.pause_replay("shard-b")
    try:
        doc = create_document(api, user)
        listed = api.get("/v1/documents", params={"limit": 100}, headers=user.headers).json()["items"]
        assert doc["id"] not in {item["id"] for item in listed}
    finally:
        local_stack.resume_replay("shard-b")

    def visible() -> bool:
        items = api.get("/v1/documents", params={"limit": 100}, headers=user.headers).json()["items"]
        return doc["id"] in {item["id"] for item in items}

    wait_until(visible, what="the replica to replay the insert")
