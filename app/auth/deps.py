"""Per-request lookups: the process's services and the authenticated principal."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request

from app.auth.tokens import InvalidTokenError
from app.core.db import ShardPools
from app.core.errors import ApiError
from app.core.logs import tenant_var
from app.core.services import Services

log = logging.getLogger("app.auth")

_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="nexus"'}
_READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


@dataclass(frozen=True)
class Principal:
    user_id: str
    tenant: str
    shard: ShardPools


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def shard_for_tenant(svc: Services, tenant: str, *, write: bool) -> ShardPools | None:
    """The tenant's shard (None for an unknown tenant), or the 503 `tenant_moving` / `tenant_not_on_shard`
    when that shard does not serve it now: app.core.tenantroute.TenantRouter.resolve, in memory."""
    return svc.router.resolve(tenant, write=write)


def current_principal(request: Request) -> Principal:
    """The caller from the bearer token; tenant -> shard is an in-memory lookup, no database round trip."""
    write = request.method not in _READ_METHODS
    return principal_from_authorization(
        services(request), request.headers.get("authorization", ""), write=write
    )


def principal_from_authorization(svc: Services, header: str, *, write: bool) -> Principal:
    """The caller from an Authorization header's value: the one check behind every authenticated route,
    Starlette's and the raw fast path's (app/fastpath.py). The shard comes from `shard_for_tenant`, which
    refuses a tenant its shard does not serve now (and, when `write`, one frozen for a move)."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "a bearer token is required", _UNAUTHORIZED_HEADERS)
    try:
        claims = svc.tokens.verify(token.strip())
    except InvalidTokenError as exc:
        log.info("token rejected: %s", exc)
        raise ApiError(
            401, "invalid_token", "the token is invalid or expired", _UNAUTHORIZED_HEADERS
        ) from exc
    shard = shard_for_tenant(svc, claims.tenant, write=write)
    if shard is None:
        raise ApiError(401, "invalid_token", "the token's tenant is unknown", _UNAUTHORIZED_HEADERS)
    tenant_var.set(claims.tenant)
    return Principal(user_id=claims.sub, tenant=claims.tenant, shard=shard)
