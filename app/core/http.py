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


# The largest JSON body any schema accepts is a document: 100,000 characters, at most 6 bytes each once
# JSON-escaped, plus the title. Anything bigger is refused before it is buffered.
MAX_JSON_BODY_BYTES = 1024 * 1024


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is larger than {MAX_JSON_BODY_BYTES} bytes")


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked bodies declare no length: count while reading
        size += len(chunk)
        if size > MAX_JSON_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def decode_body(request: Request, type_: type[T]) -> T:
    body = await _read_capped(request)
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("Expected `int`, got `float`"):
            return _decode_integral_floats(body, type_)
        raise ApiError(422, "invalid_request", str(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # msgspec raises UnicodeDecodeError, not DecodeError, for bytes that are not UTF-8.
        raise ApiError(422, "invalid_json", "the request body is not valid JSON") from exc


def _decode_integral_floats(body: bytes, type_: type[T]) -> T:
    """The slow path for a body that writes an integer with a fraction of zero (``3.0``).

    JSON Schema counts 3.0 as an integer (any number with a zero fractional part), so the OpenAPI document's
    ``"type": "integer"`` allows it; msgspec's typed decoding does not. Only bodies that fail on exactly this
    take this path: decoded untyped, integral floats made ints, then validated strictly as before.
    """
    try:
        return msgspec.convert(_integral_floats_as_ints(msgspec.json.decode(body)), type_, strict=True)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def convert_query(value: str | None, type_: type[T], name: str) -> T | None:
    if value is None:
        return None
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_request", f"query parameter `{name}`: {exc}") from exc
