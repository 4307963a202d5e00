from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# msgspec describes datetime as a plain string; say what the API sends: RFC 3339 with a time zone.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True, extra_json_schema={"format": "date-time"})]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(max_length=100_000)]


class DocumentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    body: Body


class DocumentUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    body: Body
    version: Annotated[int, msgspec.Meta(ge=1, description="the version being replaced")]


class Document(msgspec.Struct, frozen=True):
    id: str
    title: str
    body: str
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class DocumentPage(msgspec.Struct, frozen=True):
    items: list[Document]
    next_cursor: str | None
