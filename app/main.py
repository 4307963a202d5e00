"""The app factory: `create_app()` builds the Starlette app; its lifespan owns every client."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import msgspec
from prometheus_client import multiprocess
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.attachments.routes import ROUTES as ATTACHMENT_ROUTES
from app.auth.passwords import Passwords
from app.auth.routes import ROUTES as AUTH_ROUTES
from app.auth.tokens import TokenService
from app.core.cache import Cache
from app.core.db import open_pools
from app.core.errors import ApiError, ErrorBody, ErrorResponse
from app.core.http import Handler, RouteSpec, json_response
from app.core.logs import configure_logging, request_id_var, tenant_var, write_logs_directly
from app.core.metrics import Metrics
from app.core.openapi import build_openapi
from app.core.services import Services, make_redis
from app.core.settings import Settings, get_settings
from app.core.storage import open_storage
from app.core.tenantroute import TenantRouter
from app.documents.routes import ROUTES as DOCUMENT_ROUTES
from app.exports.routes import ROUTES as EXPORT_ROUTES
from app.fastpath import FastPath
from app.ops.routes import ROUTES as OPS_ROUTES
from app.reports.routes import ROUTES as REPORT_ROUTES

log = logging.getLogger("app")
access_log = logging.getLogger("app.access")

API_VERSION = "1.0.0"
ALL_ROUTES: tuple[RouteSpec, ...] = (
    *AUTH_ROUTES,
    *DOCUMENT_ROUTES,
    *ATTACHMENT_ROUTES,
    *REPORT_ROUTES,
    *EXPORT_ROUTES,
    *OPS_ROUTES,
)
POOL_METRICS_INTERVAL_SECONDS = 5.0
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNSCOPED = frozenset({"/healthz", "/readyz", "/metrics"})


class ObservabilityMiddleware:
    """Request id, JSON access log, and request metrics by route template (pure ASGI: no per-request
    task or body buffering, which BaseHTTPMiddleware would add to the hot path).

    The access log writes a line for every request (`all`), for responses with status >= 400 (`errors`, the
    default: in AWS the ALB's access logs hold every request), or none (`off`). The metrics count every
    request whatever the mode."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: str) -> None:
        self.app = app
        self.metrics = metrics
        # The lowest status that gets an access line; above any status when the log is off.
        self.log_from_status = {"all": 0, "errors": 400, "off": 1000}[access_log]
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            # Label sets are bounded (route templates x methods x statuses), so this memo stays small.
            children = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request_id_var.set(request_id)
        tenant_var.set(None)
        start = time.perf_counter()
        status = 500
        rid_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self._observe(method, template, status, elapsed)
            if status >= self.log_from_status and template not in _UNSCOPED:
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        # The client's address: X-Forwarded-For's when the peer is a trusted proxy
                        # (NEXUS_FORWARDED_ALLOW_IPS: the ALB's VPC), the peer's own otherwise.
                        "client": (scope.get("client") or ("-", 0))[0],
                    },
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def build_routes(specs: tuple[RouteSpec, ...]) -> list[Route]:
    """One Starlette route per path, dispatching on the method, so a 405 lists every allowed method."""
    by_path: dict[str, dict[str, Handler]] = {}
    for spec in specs:
        by_path.setdefault(spec.path, {})[spec.method] = spec.handler
    routes = []
    for path, handlers in by_path.items():
        if len(handlers) == 1:
            ((method, handler),) = handlers.items()
            routes.append(Route(path, handler, methods=[method]))
        else:
            routes.append(Route(path, _dispatch(handlers), methods=list(handlers)))
    return routes


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        # Starlette answers HEAD on a GET route; HEAD runs the GET handler.
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        log.warning("request failed: %s", exc.message, extra={"code": exc.code})
    return json_response(ErrorResponse(ErrorBody(exc.code, exc.message)), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return json_response(ErrorResponse(ErrorBody(code, str(exc.detail))), exc.status_code, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return json_response(ErrorResponse(ErrorBody("internal", "internal server error")), 500)


async def _open_services(settings: Settings, stack: AsyncExitStack, metrics: Metrics) -> Services:
    shards = await open_pools(settings)

    async def close_pools() -> None:
        await asyncio.gather(*(s.close() for s in shards.values()))

    stack.push_async_callback(close_pools)
    redis, cache_redis, redis_pool = make_redis(settings.redis)
    stack.push_async_callback(redis_pool.disconnect)
    stack.push_async_callback(cache_redis.aclose)
    storage = await open_storage(settings.storage, stack)
    return Services(
        settings=settings,
        shards=shards,
        redis=redis,
        cache=Cache(cache_redis, settings.cache, settings.redis, metrics),
        storage=storage,
        tokens=TokenService(settings.auth),
        passwords=Passwords(),
        metrics=metrics,
        router=TenantRouter(settings.tenant_map, shards, redis),
    )


async def _refresh_pool_metrics(svc: Services) -> None:
    while True:
        svc.refresh_pool_metrics()
        await asyncio.sleep(POOL_METRICS_INTERVAL_SECONDS)


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> Starlette:
    """Build the app. Clients are created in the lifespan, not here, so building the app connects nothing."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.server.log_level)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            svc = await _open_services(settings, stack, metrics)
            app.state.services = svc
            refresher = asyncio.create_task(_refresh_pool_metrics(svc))
            # Serve nothing before the shards' tenant states are known (a shard that does not answer is
            # read again by the routing task; its tenants get its 503 until then).
            await svc.router.refresh()
            routing = asyncio.create_task(svc.router.run())
            # Everything alive now (modules, settings, clients) lives as long as the process: keep it out of
            # the collector's reach, so that a full collection no longer walks it in the middle of requests
            # (p99 of a cached GET at 64 connections: 79 ms -> 26 ms, docs/benchmarks.md).
            gc.freeze()
            log.info("started", extra={"shards": list(svc.shards), "pid": os.getpid()})
            try:
                yield
            finally:
                # uvicorn has already drained in-flight requests when the lifespan ends.
                for task in (refresher, routing):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if metrics.multiprocess:
                    multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
                log.info("stopped")
                write_logs_directly()

    routes = build_routes(ALL_ROUTES)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
    )
    # No trailing-slash redirects: Starlette would answer `/v1/documents/` with a 307 to a URL built from the
    # Host header, which behind a balancer need not be the address the client used. Such paths are 404s.
    app.router.redirect_slashes = False
    # Middleware added later wraps the earlier: observability -> the fast path -> Starlette's routing.
    if settings.server.fast_path:
        app.add_middleware(FastPath, routes=routes)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, access_log=settings.server.access_log)
    app.state.settings = settings
    app.state.openapi_json = msgspec.json.encode(build_openapi(ALL_ROUTES, "NexusAPI", API_VERSION))
    return app
