"""Errors the API returns, as one JSON shape: {"error": {"code", "message"}}."""

from __future__ import annotations

import msgspec


class ErrorBody(msgspec.Struct, frozen=True):
    code: str
    message: str


class ErrorResponse(msgspec.Struct, frozen=True):
    error: ErrorBody


class ApiError(Exception):
    """An error with an HTTP status that the exception handler turns into a JSON response."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class DependencyUnavailableError(ApiError):
    """A dependency (database shard, Redis, S3) cannot be reached: 503 naming it, with a code per kind of
    dependency (`shard_unavailable`, `queue_unavailable`, `storage_unavailable`) that clients and alerts
    can match without parsing the message."""

    def __init__(self, dependency: str, detail: str = "unreachable", *, code: str = "unavailable"):
        super().__init__(503, code, f"{dependency} is {detail}", {"Retry-After": "1"})
        self.dependency = dependency


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


class TenantUnavailableError(DependencyUnavailableError):
    """The tenant cannot be served by the shard it was routed to, for now: `tenant_moving` while a move
    (python -m app.tenants move) freezes or switches it, `tenant_not_on_shard` when the shard does not own
    it (the config names a shard the tenant's data never moved to). A 503 with Retry-After, never an empty
    answer and never a write into the wrong shard (docs/shards.md)."""

    def __init__(self, tenant: str, code: str, detail: str):
        super().__init__(f"tenant {tenant}", detail, code=code)
        self.tenant = tenant


def tenant_moving(tenant: str) -> TenantUnavailableError:
    return TenantUnavailableError(tenant, "tenant_moving", "moving to another shard; retry shortly")


def tenant_not_on_shard(tenant: str, shard: str) -> TenantUnavailableError:
    detail = f"not served by {shard} (see docs/shards.md)"
    return TenantUnavailableError(tenant, "tenant_not_on_shard", detail)
