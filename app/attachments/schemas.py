from __future__ import annotations

from datetime import datetime

import msgspec


class Attachment(msgspec.Struct, frozen=True):
    id: str
    document_id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class AttachmentWithUrl(msgspec.Struct, frozen=True):
    id: str
    document_id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    download_url: str
    download_expires_in: int
