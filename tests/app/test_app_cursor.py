"""Keyset cursors round-trip exactly and refuse anything else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.documents.cursor import InvalidCursorError, decode_cursor, encode_cursor

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


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGpzb24", "x" * 300, "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIm5vdC1hLXV1aWQiXQ"],
    ids=["empty", "not-base64", "not-json", "too-long", "bad-uuid"],
)
def test_invalid_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)


def test_naive_timestamp_is_refused() -> None:
    import base64

    raw = b'["2026-01-01T00:00:00","00000000-0000-0000-0000-000000000001"]'
    with pytest.raises(InvalidCursorError, match="time zone"):
        decode_cursor(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def test_order_is_by_time_then_id() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = encode_cursor(t, uuid.UUID(int=1)), encode_cursor(t + timedelta(microseconds=1), uuid.UUID(int=0))
    assert decode_cursor(a) < decode_cursor(b)
