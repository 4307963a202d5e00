"""The app fixes the reliability tests revealed, pinned at unit level (no services)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from starlette.requests import Request
from starlette.types import Message

from app.core.errors import ApiError
from app.core.http import MAX_JSON_BODY_BYTES, decode_body
from app.core.openapi import build_openapi
from app.documents.schemas import DocumentIn
from app.main import ALL_ROUTES, API_VERSION

pytestmark = pytest.mark.unit


def _request(chunks: list[bytes], content_length: int | None = None) -> Request:
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    pending = list(chunks)

    async def receive() -> Message:
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive)


def _decode(request: Request) -> DocumentIn:
    return asyncio.run(decode_body(request, DocumentIn))


def test_a_declared_oversized_body_is_413_before_reading() -> None:
    with pytest.raises(ApiError) as caught:
        _decode(_request([], content_length=MAX_JSON_BODY_BYTES + 1))
    assert caught.value.status == 413


def test_a_chunked_oversized_body_is_413_while_reading() -> None:
    chunk = b" " * (256 * 1024)
    with pytest.raises(ApiError) as caught:
        _decode(_request([b'{"title": "a", "body": "'] + [chunk] * 5))
    assert caught.value.status == 413


def test_a_body_at_the_cap_is_decoded() -> None:
    body = msgspec.json.encode({"title": "t", "body": "b" * 100_000})
    assert _decode(_request([body], content_length=len(body))).title == "t"


def test_json_that_is_not_utf8_is_422() -> None:
    with pytest.raises(ApiError) as caught:
        _decode(_request([b'{"title": "\xff\xfe", "body": "b"}']))
    assert (caught.value.status, caught.value.code) == (422, "invalid_json")


def test_every_operation_with_a_json_body_documents_413() -> None:
    document = build_openapi(ALL_ROUTES, "NexusAPI", API_VERSION)
    with_body = [
        op
        for ops in document["paths"].values()
        for op in ops.values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(with_body) >= 4
    assert all("413" in op["responses"] for op in with_body)
