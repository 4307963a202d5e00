"""Documents: writes and read-your-writes reads on the writer, lists on a replica.

Read-your-writes: a create or update stores the new JSON in the cache after the commit, a delete stores
a tombstone, and `GET /v1/documents/{id}` reads cache -> writer (a primary-key lookup through the pooler).
So the author never sees replica lag on a single document. Lists and reports accept replica lag.
"""

from __future__ import annotations

import logging
import uuid

import asyncpg

from app.auth.deps import Principal
from app.core.cache import TOMBSTONE
from app.core.db import replica_read, tenant_tx, writer_fetchrow
from app.core.errors import ApiError, not_found
from app.core.http import encode
from app.core.services import Services
from app.core.storage import S3_ERRORS
from app.documents.cursor import decode_cursor, encode_cursor
from app.documents.schemas import Document, DocumentIn, DocumentPage, DocumentUpdate

log = logging.getLogger("app.documents")


_BY_ID = "SELECT id, title, body, version, created_at, updated_at FROM document_by_id($1, $2)"
_LIST_FIRST = (
    "SELECT id, title, body, version, created_at, updated_at FROM documents"
    " WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2"
)
_LIST_AFTER = (
    "SELECT id, title, body, version, created_at, updated_at FROM documents"
    " WHERE tenant_id = $1 AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT $2"
)


def cache_key(tenant: str, doc_id: str) -> str:
    return f"nexus:doc:{tenant}:{doc_id}"


def parse_id(raw: str) -> str | None:
    """A canonical UUID string, or None (which the routes answer as 404, like another tenant's id)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


def _document(row: asyncpg.Record) -> Document:
    return Document(
        id=str(row["id"]),
        title=row["title"],
        body=row["body"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create(svc: Services, p: Principal, data: DocumentIn) -> bytes:
    async with tenant_tx(p.shard, p.tenant) as conn:
        row = await conn.fetchrow(
            "INSERT INTO documents (id, tenant_id, author_id, title, body) VALUES ($1, $2, $3, $4, $5)"
            " RETURNING id, title, body, version, created_at, updated_at",
            uuid.uuid4(),
            p.tenant,
            uuid.UUID(p.user_id),
            data.title,
            data.body,
        )
    body = encode(_document(row))
    await svc.cache.replace(cache_key(p.tenant, str(row["id"])), body)
    return body


async def get(svc: Services, p: Principal, raw_id: str) -> bytes:
    doc_id = parse_id(raw_id)
    if doc_id is None:
        raise not_found("document")
    key = cache_key(p.tenant, doc_id)
    cached = await svc.cache.get(key)
    if cached == TOMBSTONE:
        raise not_found("document")
    if cached is not None:
        return cached
    # One statement that sets the tenant and reads under row-level security (migration 0002).
    row = await writer_fetchrow(p.shard, _BY_ID, p.tenant, uuid.UUID(doc_id))
    if row is None:
        raise not_found("document")
    body = encode(_document(row))
    await svc.cache.put(key, body, only_if_absent=True)
    return body


async def list_page(p: Principal, limit: int, cursor: str | None) -> DocumentPage:
    args: list[object] = [p.tenant, limit + 1]
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        args += [created_at, last_id]
    query = _LIST_AFTER if cursor is not None else _LIST_FIRST
    rows = await replica_read(p.shard, p.tenant, lambda conn: conn.fetch(query, *args))
    items = [_document(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    return DocumentPage(items=items, next_cursor=next_cursor)


async def update(svc: Services, p: Principal, raw_id: str, data: DocumentUpdate) -> bytes:
    doc_id = parse_id(raw_id)
    if doc_id is None:
        raise not_found("document")
    async with tenant_tx(p.shard, p.tenant) as conn:
        row = await conn.fetchrow(
            "UPDATE documents SET title = $4, body = $5, version = version + 1, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND version = $3"
            " RETURNING id, title, body, version, created_at, updated_at",
            p.tenant,
            uuid.UUID(doc_id),
            data.version,
            data.title,
            data.body,
        )
        if row is None:
            current = await conn.fetchval(
                "SELECT version FROM documents WHERE tenant_id = $1 AND id = $2", p.tenant, uuid.UUID(doc_id)
            )
            if current is None:
                raise not_found("document")
            raise ApiError(
                409, "version_conflict", f"the document is at version {current}, not {data.version}"
            )
    body = encode(_document(row))
    await svc.cache.replace(cache_key(p.tenant, doc_id), body)
    return body


async def delete(svc: Services, p: Principal, raw_id: str) -> None:
    doc_id = parse_id(raw_id)
    if doc_id is None:
        raise not_found("document")
    async with tenant_tx(p.shard, p.tenant) as conn:
        keys = await conn.fetch(
            "SELECT object_key FROM attachments WHERE tenant_id = $1 AND document_id = $2",
            p.tenant,
            uuid.UUID(doc_id),
        )
        deleted = await conn.fetchval(
            "DELETE FROM documents WHERE tenant_id = $1 AND id = $2 RETURNING id", p.tenant, uuid.UUID(doc_id)
        )
    if deleted is None:
        raise not_found("document")
    # A tombstone rather than a DEL: a concurrent miss-fill (SET NX) cannot bring the document back.
    await svc.cache.replace(cache_key(p.tenant, doc_id), TOMBSTONE)
    try:
        await svc.storage.delete_many([r["object_key"] for r in keys])
    except S3_ERRORS:
        # The rows are gone; orphaned objects are harmless and a bucket lifecycle rule can sweep them.
        log.warning("could not delete attachment objects", extra={"document_id": doc_id})
