from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

# msgspec describes datetime as a plain string; say what the API sends: RFC 3339 with a time zone.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True, extra_json_schema={"format": "date-time"})]
# PostgreSQL text cannot hold NUL: refuse it at the edge (422) instead of failing in the database (500).
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Body = Annotated[str, msgspec.Meta(max_length=100_000, pattern=NO_NUL)]
MAX_VERSION = 2**31 - 1  # the column is a PostgreSQL integer


class DocumentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    body: Body


class DocumentUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    body: Body
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION, description="the version being replaced")]


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
