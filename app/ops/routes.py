"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from app.auth.deps import services
from app.core.db import probe
from app.core.http import RouteSpec, json_response
from app.core.metrics import queue_depth_family
from app.core.services import Services
from app.exports.jobs import QUEUE_NAME

PROBE_TIMEOUT_SECONDS = 1.0
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _redis_check(svc: Services) -> str | None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await svc.redis.ping()
    except TimeoutError:
        return "timeout"
    except (RedisError, OSError) as exc:
        return type(exc).__name__
    return None


async def readiness(svc: Services) -> tuple[str, dict[str, Any], list[str]]:
    """Probe every pool and Redis at once; the status, the checks and what is failing.

    The status follows the failure domain: "ready" when everything answers, "degraded" when a shard, a
    shard's replicas or Redis do not (the pod still serves every other tenant, and reads without the
    cache), "unavailable" only when no shard's writer answers, so the pod can serve nobody. A shard's
    reader role is up when any replica answers. The probes also steer the request path: a replica that
    answers comes back into rotation at once, and a writer that does not opens its shard's breaker (a
    timeout only once a confirmation gets no answer either: app.core.db.ShardPools.suspect).
    """
    names: list[str] = []
    probes = []
    for shard in svc.shards.values():
        for handle in (shard.writer, *shard.readers):
            names.append(handle.name)
            probes.append(probe(handle, PROBE_TIMEOUT_SECONDS))
    names.append("redis")
    probes.append(_redis_check(svc))
    results = dict(zip(names, await asyncio.gather(*probes), strict=True))
    failing: list[str] = []
    checks: dict[str, Any] = {}
    for shard_id, shard in svc.shards.items():
        writer_err = results[shard.writer.name]
        reader_errs = {h.name: results[h.name] for h in shard.readers}
        for handle in shard.readers:
            if (reader_err := results[handle.name]) is None:
                handle.down_until = 0.0
            else:
                shard.probe_failed(handle, reader_err)
        if writer_err is None:
            shard.writer_answered()
        else:
            shard.probe_failed(shard.writer, writer_err)
            failing.append(f"{shard_id}.writer")
        if all(err is not None for err in reader_errs.values()):
            failing.append(f"{shard_id}.reader")
        checks[shard_id] = {
            "writer": writer_err or "ok",
            "readers": {name: err or "ok" for name, err in reader_errs.items()},
        }
    if results["redis"] is not None:
        failing.append("redis")
    checks["redis"] = results["redis"] or "ok"
    if all(results[shard.writer.name] is not None for shard in svc.shards.values()):
        status = "unavailable"
    else:
        status = "degraded" if failing else "ready"
    return status, checks, failing


async def readyz(request: Request) -> Response:
    status, checks, failing = await readiness(services(request))
    body = {"status": status, "failing": failing, "checks": checks}
    return json_response(body, 503 if status == "unavailable" else 200)


async def metrics(request: Request) -> Response:
    svc = services(request)
    extra = []
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            extra.append(queue_depth_family(float(await svc.redis.zcard(QUEUE_NAME))))
    except (TimeoutError, RedisError, OSError):
        pass  # no queue depth sample while Redis is down; the rest of the metrics still matter
    svc.refresh_pool_metrics()
    return Response(svc.metrics.render(extra), media_type=PROMETHEUS_CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    return Response(request.app.state.openapi_json, media_type="application/json")


ROUTES = (
    RouteSpec("GET", "/healthz", healthz, "Liveness: the process answers", "ops", {200: None}, auth=False),
    RouteSpec(
        "GET",
        "/readyz",
        readyz,
        "Readiness: 200 while any shard's writer answers; the body reports every shard and Redis",
        "ops",
        {200: None},
        auth=False,
        errors=(503,),
    ),
    RouteSpec("GET", "/metrics", metrics, "Prometheus metrics", "ops", {200: None}, auth=False),
    RouteSpec("GET", "/openapi.json", openapi, "This document", "ops", {200: None}, auth=False),
)
