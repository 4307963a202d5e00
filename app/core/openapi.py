"""The OpenAPI 3.1 document, generated from the route specs and their msgspec schemas."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from app.core.errors import ErrorResponse
from app.core.http import RouteSpec

REF_TEMPLATE = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{([a-z_]+)}")
_ERROR_TEXT = {
    401: "Missing, invalid or expired bearer token",
    404: "Not found (or owned by another tenant)",
    409: "Conflict",
    413: "Body or upload larger than the configured limit",
    422: "Invalid request",
    503: "A dependency is unavailable; the message names it",
}


def build_openapi(routes: Sequence[RouteSpec], title: str, version: str) -> dict[str, Any]:
    types: list[Any] = [ErrorResponse]
    for spec in routes:
        if spec.body is not None:
            types.append(spec.body)
        types.extend(t for t in spec.responses.values() if t is not None)
    unique = list(dict.fromkeys(types))
    refs, components = msgspec.json.schema_components(unique, ref_template=REF_TEMPLATE)
    ref_of = dict(zip(unique, refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, ref_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(spec: RouteSpec, ref_of: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{spec.tag}_{spec.handler.__name__}",
        "summary": spec.summary,
        "tags": [spec.tag],
        "responses": {},
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": q.required,
            "schema": q.schema,
            "description": q.description,
        }
        for q in spec.query
    ]
    params += [
        {
            "name": h.name,
            "in": "header",
            "required": h.required,
            "schema": h.schema,
            "description": h.description,
        }
        for h in spec.headers
    ]
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref_of[spec.body]}}}
    elif spec.multipart:
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                        # The server takes this one field and refuses any other (app.attachments.routes).
                        "additionalProperties": False,
                    }
                }
            },
        }
    for status, type_ in spec.responses.items():
        response: dict[str, Any] = {"description": "Success" if status != 204 else "No content"}
        if type_ is not None:
            response["content"] = {"application/json": {"schema": ref_of[type_]}}
        op["responses"][str(status)] = response
    # Every JSON body is capped (app.core.http.MAX_JSON_BODY_BYTES), so every operation with one can be 413.
    errors = sorted({*spec.errors, 413}) if spec.body is not None else spec.errors
    for status in errors:
        op["responses"][str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": ref_of[ErrorResponse]}},
        }
    if spec.query:
        # A long query string (a hostile cursor, percent-encoded) can exceed the balancer's request-line
        # limit (nginx 8 KiB locally, 16 KiB on an ALB); the balancer answers 414 itself, in its own format.
        op["responses"]["414"] = {"description": "Request line longer than the load balancer accepts"}
    if spec.auth:
        op["security"] = [{"bearerAuth": []}]
    return op
