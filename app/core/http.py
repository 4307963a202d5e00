"""Small HTTP helpers shared by the domain packages: route specs (for routing and the OpenAPI document),
JSON responses through msgspec, and body decoding that turns validation errors into 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from app.core.errors import ApiError

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class RouteSpec:
    """One operation: what Starlette routes and what the OpenAPI document describes."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    responses: dict[int, type | None]
    body: type | None = None
    multipart: bool = False
    auth: bool = True
    query: tuple[QueryParam, ...] = ()
    headers: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = field(default=())


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        _encoder.encode(payload), status_code=status, headers=headers, media_type="application/json"
    )


def raw_json_response(body: bytes, status: int = 200) -> Response:
    """A response from bytes that are already JSON (a cached document)."""
    return Response(body, status_code=status, media_type="application/json")


def encode(payload: Any) -> bytes:
    return _encoder.encode(payload)


async def decode_body(request: Request, type_: type[T]) -> T:
    body = await request.body()
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(422, "invalid_json", "the request body is not valid JSON") from exc


def convert_query(value: str | None, type_: type[T], name: str) -> T | None:
    if value is None:
        return None
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_request", f"query parameter `{name}`: {exc}") from exc
