from __future__ import annotations

import msgspec

from app.documents.schemas import Timestamp


class Attachment(msgspec.Struct, frozen=True):
    id: str
    document_id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: Timestamp


class AttachmentWithUrl(msgspec.Struct, frozen=True):
    id: str
    document_id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: Timestamp
    download_url: str
    download_expires_in: int
