"""The peer: a textbook FastAPI service doing the same work as the API's hot routes, written the way the
FastAPI, PyJWT, redis-py and asyncpg documentation show it (issue 18). Not part of the API.

- `GET /healthz`: a dict, encoded by FastAPI.
- `GET /v1/documents/{doc_id}`: `HTTPBearer` + `jwt.decode` (HS256, audience and issuer checked) in a
  dependency, then a `redis.asyncio` GET of the API's own cache key (the bytes the API stored) and, on a miss,
  the row read through PgBouncer with asyncpg and cached (cache-aside). The documents table enforces
  row-level security, so the read sets the tenant as asyncpg's documentation shows a session setting in a
  transaction: `conn.transaction()` and a parameterised `set_config`. asyncpg's statement cache is off, as
  its FAQ says for PgBouncer in transaction mode.

Served by `uvicorn bench.textbook:app --workers 2` (uvloop and httptools, as `uvicorn[standard]` picks
them), with the access log off like the API's (uvicorn's default would log every request, slower).
Configuration from the environment the benchmark gives it: TEXTBOOK_DSN (PgBouncer, shard-a), TEXTBOOK_CA,
TEXTBOOK_REDIS_URL, TEXTBOOK_JWT_SECRET / _AUDIENCE / _ISSUER, TEXTBOOK_CACHE (`false`: skip Redis).
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import jwt
import redis.asyncio as redis
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

DSN = os.environ.get("TEXTBOOK_DSN", "")
CA = os.environ.get("TEXTBOOK_CA", "")
REDIS_URL = os.environ.get("TEXTBOOK_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = os.environ.get("TEXTBOOK_JWT_SECRET", "")
AUDIENCE = os.environ.get("TEXTBOOK_JWT_AUDIENCE", "")
ISSUER = os.environ.get("TEXTBOOK_JWT_ISSUER", "")
CACHE = os.environ.get("TEXTBOOK_CACHE", "true") == "true"
CACHE_TTL = 60

state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx = ssl.create_default_context(cafile=CA) if CA else None
    state["pool"] = await asyncpg.create_pool(DSN, min_size=1, max_size=10, statement_cache_size=0, ssl=ctx)
    state["redis"] = redis.from_url(REDIS_URL)  # type: ignore[no-untyped-call]
    yield
    await state["redis"].aclose()
    await state["pool"].close()


app = FastAPI(lifespan=lifespan)
bearer = HTTPBearer()


class Document(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    version: int
    created_at: datetime
    updated_at: datetime


def current_user(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> dict[str, Any]:  # noqa: B008
    try:
        payload: dict[str, Any] = jwt.decode(
            credentials.credentials, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(status_code=401, detail="invalid token") from exc
    return payload


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/documents/{doc_id}", response_model=Document)
async def get_document(
    doc_id: uuid.UUID,
    user: dict[str, Any] = Depends(current_user),  # noqa: B008
) -> Any:
    tenant = user["tenant"]
    key = f"nexus:doc:{tenant}:{doc_id}"
    if CACHE:
        cached = await state["redis"].get(key)
        if cached is not None and cached != b"-":
            return Response(content=cached, media_type="application/json")
    async with state["pool"].acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
        row = await conn.fetchrow(
            "SELECT id, title, body, version, created_at, updated_at FROM documents"
            " WHERE tenant_id = $1 AND id = $2",
            tenant,
            doc_id,
        )
    if row is None:
        raise HTTPException(status_code=404, detail="document not found")
    doc = Document(**dict(row))
    if CACHE:
        await state["redis"].set(key, doc.model_dump_json(), ex=CACHE_TTL)
    return doc
