from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.auth import service
from app.auth.deps import services
from app.auth.schemas import AccessToken, Credentials, RegisteredUser
from app.core.http import RouteSpec, decode_body, json_response


async def register(request: Request) -> Response:
    creds = await decode_body(request, Credentials)
    user = await service.register(services(request), creds)
    return json_response(user, 201)


async def token(request: Request) -> Response:
    creds = await decode_body(request, Credentials)
    return json_response(await service.issue_token(services(request), creds))


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/auth/register",
        register,
        "Register a user in a tenant",
        "auth",
        {201: RegisteredUser},
        body=Credentials,
        auth=False,
        errors=(404, 409, 422),
    ),
    RouteSpec(
        "POST",
        "/v1/auth/token",
        token,
        "Exchange credentials for an access token",
        "auth",
        {200: AccessToken},
        body=Credentials,
        auth=False,
        errors=(401, 422),
    ),
)
