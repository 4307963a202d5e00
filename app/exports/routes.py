from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.auth.deps import current_principal, services
from app.core.errors import ApiError
from app.core.http import QueryParam, RouteSpec, json_response
from app.exports import service
from app.exports.schemas import ExportAccepted, ExportState

MAX_IDEMPOTENCY_KEY = 200


async def create(request: Request) -> Response:
    principal = current_principal(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(422, "invalid_request", f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    accepted = await service.enqueue(services(request), principal, key)
    return json_response(accepted, 202, headers={"Location": f"/v1/exports/{accepted.job_id}"})


async def get(request: Request) -> Response:
    principal = current_principal(request)
    return json_response(await service.state(services(request), principal, request.path_params["job_id"]))


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/exports",
        create,
        "Queue an export of the tenant's documents to S3 (JSON Lines)",
        "exports",
        {202: ExportAccepted},
        errors=(401, 422, 503),
        headers=(
            QueryParam(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 200},
                "a retried POST with the same key returns the same job",
            ),
        ),
    ),
    RouteSpec(
        "GET",
        "/v1/exports/{job_id}",
        get,
        "Export status, with a download URL when done",
        "exports",
        {200: ExportState},
        errors=(401, 404, 503),
    ),
)
