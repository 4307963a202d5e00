"""Keyset cursors: the (created_at, id) of the last item of a page, as ``<microseconds>.<uuid hex>``.

A format a regular expression describes exactly (CURSOR_PATTERN, published in the OpenAPI document), so that
every cursor the schema allows is a position the server accepts: microseconds since the Unix epoch (UTC, up
to 17 digits, which stays within the years datetime can hold) and the id's 32 hex digits. A made-up cursor is
only a position in the caller's own keyset; tenant isolation does not depend on it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

CURSOR_PATTERN: Final = "^[0-9]{1,17}\\.[0-9a-f]{32}$"
_CURSOR = re.compile(r"[0-9]{1,17}\.[0-9a-f]{32}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidCursorError(ValueError):
    pass


def encode_cursor(created_at: datetime, doc_id: str | uuid.UUID) -> str:
    if created_at.tzinfo is None:
        raise ValueError("created_at must carry a time zone")
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError("created_at before 1970 has no cursor")
    return f"{micros}.{uuid.UUID(str(doc_id)).hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    # fullmatch: unlike `$` in a search, it does not let a trailing newline through.
    if _CURSOR.fullmatch(cursor) is None:
        raise InvalidCursorError("cursor is not valid")
    micros, hex_id = cursor.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
