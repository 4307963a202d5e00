from __future__ import annotations

import uuid

import asyncpg

from app.auth.deps import shard_for_tenant
from app.auth.schemas import AccessToken, Credentials, RegisteredUser
from app.core.db import tenant_tx
from app.core.errors import ApiError, not_found
from app.core.services import Services


async def register(svc: Services, creds: Credentials) -> RegisteredUser:
    shard = shard_for_tenant(svc, creds.tenant, write=True)
    if shard is None:
        raise not_found("tenant")
    email = creds.email.lower()
    password_hash = await svc.passwords.hash(creds.password)
    user_id = str(uuid.uuid4())
    try:
        async with tenant_tx(shard, creds.tenant) as conn:
            await conn.execute(
                "INSERT INTO users (id, tenant_id, email, password_hash) VALUES ($1, $2, $3, $4)",
                user_id,
                creds.tenant,
                email,
                password_hash,
            )
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "conflict", "this email is already registered in the tenant") from exc
    return RegisteredUser(id=user_id, tenant=creds.tenant, email=email)


async def issue_token(svc: Services, creds: Credentials) -> AccessToken:
    shard = shard_for_tenant(svc, creds.tenant, write=False)
    row = None
    if shard is not None:
        # The writer: a user who just registered can log in at once, whatever the replica lag.
        async with tenant_tx(shard, creds.tenant) as conn:
            row = await conn.fetchrow(
                "SELECT id, password_hash FROM users WHERE tenant_id = $1 AND email = $2",
                creds.tenant,
                creds.email.lower(),
            )
    # Verify even when the user is missing so that timing does not reveal which emails exist.
    if not await svc.passwords.verify(row["password_hash"] if row else None, creds.password):
        raise ApiError(401, "invalid_credentials", "wrong tenant, email or password")
    assert row is not None
    token = svc.tokens.issue(str(row["id"]), creds.tenant)
    return AccessToken(
        access_token=token,
        token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=svc.tokens.ttl_seconds,
    )
