"""Attachments: multipart upload to S3 under the tenant's prefix, presigned download, size limit."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
from app_support import create_document

from tests.support.clients import User

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def owner(new_user: Any) -> User:
    return new_user("acme")


def upload(
    api: httpx.Client, user: User, doc_id: str, data: bytes, name: str = "notes.txt"
) -> httpx.Response:
    return api.post(
        f"/v1/documents/{doc_id}/attachments",
        files={"file": (name, data, "text/plain")},
        headers=user.headers,
    )


def test_upload_then_download_through_the_presigned_url(
    api: httpx.Client, owner: User, s3: Any, local_stack: Any
) -> None:
    doc = create_document(api, owner)
    data = os.urandom(50_000)
    created = upload(api, owner, doc["id"], data, "report.bin")
    assert created.status_code == 201, created.text
    meta = created.json()
    assert meta["size_bytes"] == len(data)
    assert meta["document_id"] == doc["id"]
    assert meta["filename"] == "report.bin"
    fetched = api.get(f"/v1/documents/{doc['id']}/attachments/{meta['id']}", headers=owner.headers)
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["download_expires_in"] > 0
    download = httpx.get(body["download_url"], timeout=30)
    assert download.status_code == 200
    assert download.content == data
    key = f"tenants/acme/documents/{doc['id']}/attachments/{meta['id']}"
    head = s3.head_object(Bucket=local_stack.s3_bucket, Key=key)
    assert head["ContentLength"] == len(data)


def test_upload_over_the_limit_is_413(api: httpx.Client, owner: User, local_stack: Any) -> None:
    doc = create_document(api, owner)
    limit = int(local_stack.app_env["NEXUS_MAX_UPLOAD_BYTES"])
    response = upload(api, owner, doc["id"], b"x" * (limit + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert upload(api, owner, doc["id"], b"x" * 1024).status_code == 201


def test_upload_to_a_missing_document_is_404(api: httpx.Client, owner: User) -> None:
    assert upload(api, owner, str(uuid.uuid4()), b"abc").status_code == 404


def test_upload_without_the_file_field_is_422(api: httpx.Client, owner: User) -> None:
    doc = create_document(api, owner)
    url = f"/v1/documents/{doc['id']}/attachments"
    wrong_field = api.post(url, files={"other": ("a.txt", b"abc")}, headers=owner.headers)
    assert wrong_field.status_code == 422
    not_multipart = api.post(url, json={"file": "abc"}, headers=owner.headers)
    assert not_multipart.status_code == 422


def test_unknown_attachment_is_404(api: httpx.Client, owner: User) -> None:
    doc = create_document(api, owner)
    response = api.get(f"/v1/documents/{doc['id']}/attachments/{uuid.uuid4()}", headers=owner.headers)
    assert response.status_code == 404


def test_deleting_the_document_removes_its_objects(
    api: httpx.Client, owner: User, s3: Any, local_stack: Any
) -> None:
    doc = create_document(api, owner)
    meta = upload(api, owner, doc["id"], b"bye").json()
    prefix = f"tenants/acme/documents/{doc['id']}/"
    assert s3.list_objects_v2(Bucket=local_stack.s3_bucket, Prefix=prefix)["KeyCount"] == 1
    assert api.delete(f"/v1/documents/{doc['id']}", headers=owner.headers).status_code == 204
    assert s3.list_objects_v2(Bucket=local_stack.s3_bucket, Prefix=prefix)["KeyCount"] == 0
    gone = api.get(f"/v1/documents/{doc['id']}/attachments/{meta['id']}", headers=owner.headers)
    assert gone.status_code == 404


def test_a_malformed_multipart_body_is_422(api: httpx.Client, owner: User) -> None:
    doc = create_document(api, owner)
    fields = {f"field{i}": (None, "x") for i in range(12)}
    response = api.post(f"/v1/documents/{doc['id']}/attachments", files=fields, headers=owner.headers)
    assert response.status_code == 422
    assert "multipart" in response.json()["error"]["message"]


def test_a_field_besides_file_is_422_as_the_schema_says(api: httpx.Client, owner: User) -> None:
    """The OpenAPI document says `additionalProperties: false`; the server refuses what the schema refuses."""
    doc = create_document(api, owner)
    response = api.post(
        f"/v1/documents/{doc['id']}/attachments",
        files={"file": ("a.txt", b"a", "text/plain")},
        data={"note": "extra"},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert "note" in response.json()["error"]["message"]
    spec = api.get("/openapi.json").json()
    body = spec["paths"]["/v1/documents/{doc_id}/attachments"]["post"]["requestBody"]
    assert body["content"]["multipart/form-data"]["schema"]["additionalProperties"] is False
