"""A raw ASGI path for the two hottest routes, `GET /v1/documents/{doc_id}` and `GET /healthz`.

It sits inside the observability middleware (request id, metrics, access log) and in front of Starlette's
exception middleware and router, which every other request goes through. What it skips is framework work
that these routes do not need: the router trying the routes in order, the Request and Response objects, the
exception middleware's wrapper. What it keeps is the contract, by calling the same code:

- the caller from `principal_from_authorization` (the token check and the tenant -> shard resolution
  `shard_for_tenant` that every authenticated route uses);
- the document from `app.documents.service.get` (cache, then the writer);
- errors as `main` answers them: an `ApiError`'s status, JSON body and headers, anything else a logged 500;
- the route template in `scope["route"]`, the Starlette route itself, so metrics and the access log label the
  request exactly as the router would have, and the OpenAPI document (built from the same route specs) is
  unchanged.

A request it does not recognise exactly (another method, HEAD, a deeper path) goes to Starlette unchanged.
The API's contract tests run against it because they request these URLs; tests/app/test_app_fastpath.py
checks that it does serve them.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.deps import principal_from_authorization
from app.core.errors import ApiError, ErrorBody, ErrorResponse
from app.core.http import encode
from app.core.services import Services
from app.documents import service as documents

log = logging.getLogger("app")

DOCUMENT_PREFIX = "/v1/documents/"
_PREFIX_LEN = len(DOCUMENT_PREFIX)
_JSON = (b"content-type", b"application/json")
_HEALTHZ_BODY = encode({"status": "ok"})


class FastPath:
    def __init__(self, app: ASGIApp, routes: list[Route]) -> None:
        self.app = app
        by_path = {route.path: route for route in routes}
        self._document_route = by_path["/v1/documents/{doc_id}"]
        self._healthz_route = by_path["/healthz"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(DOCUMENT_PREFIX):
                doc_id = path[_PREFIX_LEN:]
                # Starlette's `{doc_id}` matches one non-empty segment: so does this.
                if doc_id and "/" not in doc_id:
                    scope["route"] = self._document_route
                    await self._document(scope, doc_id, send)
                    return
            elif path == "/healthz":
                scope["route"] = self._healthz_route
                await _respond(send, 200, _HEALTHZ_BODY)
                return
        await self.app(scope, receive, send)

    async def _document(self, scope: Scope, doc_id: str, send: Send) -> None:
        try:
            svc: Services = scope["app"].state.services
            principal = principal_from_authorization(svc, _authorization(scope), write=False)
            body = await documents.get(svc, principal, doc_id)
        except ApiError as exc:
            if exc.status >= 500:
                log.warning("request failed: %s", exc.message, extra={"code": exc.code})
            error = encode(ErrorResponse(ErrorBody(exc.code, exc.message)))
            await _respond(send, exc.status, error, exc.headers)
            return
        except Exception as exc:
            log.exception("unhandled error", exc_info=exc)
            await _respond(send, 500, encode(ErrorResponse(ErrorBody("internal", "internal server error"))))
            return
        await _respond(send, 200, body)


def _authorization(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"authorization":
            return str(value.decode("latin-1"))
    return ""


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """The response as Starlette's Response would send it: content-length, content-type, extra headers."""
    raw: list[Any] = [(b"content-length", str(len(body)).encode()), _JSON]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
