"""Attachments: bytes in S3 under the tenant's prefix, metadata in the shard, downloads by presigned URL."""

from __future__ import annotations

import logging
import re
import uuid

from app.attachments.schemas import Attachment, AttachmentWithUrl
from app.auth.deps import Principal
from app.core.db import tenant_tx
from app.core.errors import not_found
from app.core.services import Services
from app.core.storage import S3_ERRORS, attachment_key
from app.documents.service import parse_id

log = logging.getLogger("app.attachments")

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


def clean_filename(name: str | None) -> str:
    """A display name safe inside a Content-Disposition header: no path, no quotes, bounded length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", base).strip(" .")[:200]
    return cleaned or "attachment"


async def create(
    svc: Services, p: Principal, raw_doc_id: str, filename: str | None, content_type: str | None, data: bytes
) -> Attachment:
    doc_id = parse_id(raw_doc_id)
    if doc_id is None:
        raise not_found("document")
    async with tenant_tx(p.shard, p.tenant) as conn:
        exists = await conn.fetchval(
            "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2", p.tenant, uuid.UUID(doc_id)
        )
    if not exists:
        raise not_found("document")
    attachment_id = str(uuid.uuid4())
    key = attachment_key(p.tenant, doc_id, attachment_id)
    ctype = content_type or "application/octet-stream"
    await svc.storage.put(key, data, ctype)
    # The document may have been deleted meanwhile: insert only if it is still there (and still ours; a
    # foreign key alone would not check the tenant, since referential checks ignore row-level security).
    async with tenant_tx(p.shard, p.tenant) as conn:
        row = await conn.fetchrow(
            "INSERT INTO attachments"
            " (id, tenant_id, document_id, filename, content_type, size_bytes, object_key)"
            " SELECT $1, $2, $3, $4, $5, $6, $7"
            " WHERE EXISTS (SELECT 1 FROM documents WHERE tenant_id = $2 AND id = $3)"
            " RETURNING created_at",
            uuid.UUID(attachment_id),
            p.tenant,
            uuid.UUID(doc_id),
            clean_filename(filename),
            ctype,
            len(data),
            key,
        )
    if row is None:
        try:
            await svc.storage.delete_many([key])
        except S3_ERRORS:
            log.warning("orphan attachment object left", extra={"key": key})
        raise not_found("document")
    return Attachment(
        id=attachment_id,
        document_id=doc_id,
        filename=clean_filename(filename),
        content_type=ctype,
        size_bytes=len(data),
        created_at=row["created_at"],
    )


async def get(svc: Services, p: Principal, raw_doc_id: str, raw_attachment_id: str) -> AttachmentWithUrl:
    doc_id, attachment_id = parse_id(raw_doc_id), parse_id(raw_attachment_id)
    if doc_id is None or attachment_id is None:
        raise not_found("attachment")
    # The writer: metadata of an attachment uploaded a moment ago must be visible (read-your-writes).
    async with tenant_tx(p.shard, p.tenant) as conn:
        row = await conn.fetchrow(
            "SELECT filename, content_type, size_bytes, object_key, created_at FROM attachments"
            " WHERE tenant_id = $1 AND document_id = $2 AND id = $3",
            p.tenant,
            uuid.UUID(doc_id),
            uuid.UUID(attachment_id),
        )
    if row is None:
        raise not_found("attachment")
    url = await svc.storage.presign_get(row["object_key"], row["filename"])
    return AttachmentWithUrl(
        id=attachment_id,
        document_id=doc_id,
        filename=row["filename"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        created_at=row["created_at"],
        download_url=url,
        download_expires_in=svc.settings.storage.presign_seconds,
    )
