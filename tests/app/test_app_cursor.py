"""Keyset cursors round-trip exactly, every string of the published pattern is a position the server accepts,
and anything else is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.documents.cursor import CURSOR_PATTERN, InvalidCursorError, decode_cursor, encode_cursor

pytestmark = pytest.mark.unit

timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(created_at=timestamps, doc_id=st.uuids())
def test_round_trip(created_at: datetime, doc_id: uuid.UUID) -> None:
    cursor = encode_cursor(created_at, doc_id)
    assert "=" not in cursor
    assert "/" not in cursor
    assert "+" not in cursor
    assert decode_cursor(cursor) == (created_at, doc_id)


def test_microseconds_survive() -> None:
    ts = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(ts, uuid.UUID(int=1)))[0] == ts


# The OpenAPI document publishes CURSOR_PATTERN (ECMA-262: `^...$` anchors the whole string); hypothesis gets
# the same expression, matched in full.
@given(cursor=st.from_regex(CURSOR_PATTERN.removeprefix("^").removesuffix("$"), fullmatch=True))
def test_every_cursor_of_the_published_form_is_accepted(cursor: str) -> None:
    created_at, doc_id = decode_cursor(cursor)
    assert created_at.tzinfo is UTC
    micros, hex_id = cursor.split(".")
    assert encode_cursor(created_at, doc_id) == f"{int(micros)}.{hex_id}", "the same position"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",
        "x" * 300,
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIm5vdC1hLXV1aWQiXQ",
        "1." + "0" * 31,
        "1." + "0" * 33,
        "1." + "A" * 32,
        "1" * 18 + "." + "0" * 32,
        "1." + "0" * 32 + "\n",
        "-1." + "0" * 32,
    ],
    ids=[
        "empty",
        "not-base64",
        "not-json",
        "too-long",
        "old-base64-form",
        "short-id",
        "long-id",
        "upper-case",
        "18-digits",
        "trailing-newline",
        "negative",
    ],
)
def test_invalid_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)


def test_naive_timestamps_get_no_cursor() -> None:
    with pytest.raises(ValueError, match="time zone"):
        encode_cursor(datetime(2026, 1, 1), uuid.UUID(int=1))


def test_order_is_by_time_then_id() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = encode_cursor(t, uuid.UUID(int=1)), encode_cursor(t + timedelta(microseconds=1), uuid.UUID(int=0))
    assert decode_cursor(a) < decode_cursor(b)
