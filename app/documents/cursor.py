"""Opaque keyset cursors: the (created_at, id) of the last item of a page, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import msgspec


class InvalidCursorError(ValueError):
    pass


class _Position(msgspec.Struct, array_like=True, frozen=True):
    created_at: datetime
    id: uuid.UUID


def encode_cursor(created_at: datetime, doc_id: str | uuid.UUID) -> str:
    raw = msgspec.json.encode(_Position(created_at, uuid.UUID(str(doc_id))))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if len(cursor) > 200:
        raise InvalidCursorError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        pos = msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidCursorError("cursor is not valid") from exc
    if pos.created_at.tzinfo is None:
        raise InvalidCursorError("cursor timestamp has no time zone")
    return pos.created_at, pos.id
