from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from app.auth.deps import current_principal, services
from app.core.errors import ApiError
from app.core.http import QueryParam, RouteSpec, convert_query, decode_body, json_response, raw_json_response
from app.documents import service
from app.documents.cursor import CURSOR_PATTERN, InvalidCursorError
from app.documents.schemas import Document, DocumentIn, DocumentPage, DocumentUpdate

Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
DEFAULT_LIMIT = 20


async def create(request: Request) -> Response:
    principal = current_principal(request)
    data = await decode_body(request, DocumentIn)
    return raw_json_response(await service.create(services(request), principal, data), 201)


async def get(request: Request) -> Response:
    principal = current_principal(request)
    return raw_json_response(await service.get(services(request), principal, request.path_params["doc_id"]))


async def list_documents(request: Request) -> Response:
    principal = current_principal(request)
    limit = convert_query(request.query_params.get("limit"), Limit, "limit") or DEFAULT_LIMIT
    try:
        page = await service.list_page(principal, limit, request.query_params.get("cursor"))
    except InvalidCursorError as exc:
        raise ApiError(422, "invalid_cursor", str(exc)) from exc
    return json_response(page)


async def update(request: Request) -> Response:
    principal = current_principal(request)
    data = await decode_body(request, DocumentUpdate)
    body = await service.update(services(request), principal, request.path_params["doc_id"], data)
    return raw_json_response(body)


async def delete(request: Request) -> Response:
    principal = current_principal(request)
    await service.delete(services(request), principal, request.path_params["doc_id"])
    return Response(status_code=204)


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/documents",
        create,
        "Create a document",
        "documents",
        {201: Document},
        body=DocumentIn,
        errors=(401, 422, 503),
    ),
    RouteSpec(
        "GET",
        "/v1/documents",
        list_documents,
        "List documents (from a replica, keyset pages)",
        "documents",
        {200: DocumentPage},
        errors=(401, 422, 503),
        query=(
            QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            QueryParam(
                "cursor",
                {"type": "string", "pattern": CURSOR_PATTERN},
                "next_cursor of the previous page (any value of this form is a position in the keyset)",
            ),
        ),
    ),
    RouteSpec(
        "GET",
        "/v1/documents/{doc_id}",
        get,
        "Get a document (cache, then the writer)",
        "documents",
        {200: Document},
        errors=(401, 404, 503),
    ),
    RouteSpec(
        "PUT",
        "/v1/documents/{doc_id}",
        update,
        "Replace a document (optimistic concurrency)",
        "documents",
        {200: Document},
        body=DocumentUpdate,
        errors=(401, 404, 409, 422, 503),
    ),
    RouteSpec(
        "DELETE",
        "/v1/documents/{doc_id}",
        delete,
        "Delete a document and its attachments",
        "documents",
        {204: None},
        errors=(401, 404, 503),
    ),
)
