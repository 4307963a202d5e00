from __future__ import annotations

import msgspec


class Summary(msgspec.Struct, frozen=True):
    tenant: str
    documents: int
    attachments: int
    attachment_bytes: int
