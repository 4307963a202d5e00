from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.auth.deps import current_principal
from app.core.http import RouteSpec, json_response
from app.reports import service
from app.reports.schemas import Summary


async def summary(request: Request) -> Response:
    return json_response(await service.summary(current_principal(request)))


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/reports/summary",
        summary,
        "Counts of documents, attachments and bytes (replica)",
        "reports",
        {200: Summary},
        errors=(401, 503),
    ),
)
