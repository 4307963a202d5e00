"""Request schemas refuse what the API answers with 422; export ids are derived, not random."""

from __future__ import annotations

import msgspec
import pytest

from app.attachments.service import clean_filename
from app.auth.schemas import Credentials
from app.documents.schemas import DocumentIn, DocumentUpdate
from app.exports.jobs import export_job_id, retry_delay_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "body",
    [
        b'{"tenant": "acme", "email": "no-at-sign", "password": "long enough"}',
        b'{"tenant": "acme", "email": "a@b.io", "password": "short"}',
        b'{"tenant": "Acme!", "email": "a@b.io", "password": "long enough"}',
        b'{"tenant": "acme", "email": "a@b.io"}',
        b'{"tenant": "acme", "email": "a@b.io", "password": "long enough", "admin": true}',
    ],
    ids=["email", "password", "tenant", "missing", "unknown-field"],
)
def test_invalid_credentials_payloads(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=Credentials)


def test_document_limits() -> None:
    msgspec.json.decode(b'{"title": "t", "body": ""}', type=DocumentIn)
    with pytest.raises(msgspec.ValidationError, match="title"):
        msgspec.json.decode(b'{"title": "", "body": "x"}', type=DocumentIn)
    with pytest.raises(msgspec.ValidationError, match="version"):
        msgspec.json.decode(b'{"title": "t", "body": "x", "version": 0}', type=DocumentUpdate)


def test_export_job_id_is_stable_and_scoped() -> None:
    a = export_job_id("acme", "u1", "key:abc")
    assert a == export_job_id("acme", "u1", "key:abc")
    assert a.startswith("exp-")
    assert len(a) == 36
    assert (
        len(
            {
                a,
                export_job_id("globex", "u1", "key:abc"),
                export_job_id("acme", "u2", "key:abc"),
                export_job_id("acme", "u1", "key:abd"),
            }
        )
        == 4
    )


def test_retry_backoff_grows_and_is_capped() -> None:
    delays = [retry_delay_seconds(n) for n in range(1, 9)]
    assert delays[:4] == [2, 4, 8, 16]
    assert max(delays) == 60
    assert delays == sorted(delays)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ('a"b;c.txt', "a_b_c.txt"),
        (None, "attachment"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("...", "attachment"),
    ],
)
def test_filenames_are_cleaned(given: str | None, expected: str) -> None:
    assert clean_filename(given) == expected


def test_nul_characters_are_refused_at_the_edge() -> None:
    # PostgreSQL text cannot store NUL: without this, the insert would fail with a 500.
    with pytest.raises(msgspec.ValidationError, match="title"):
        msgspec.json.decode(b'{"title": "a\\u0000b", "body": ""}', type=DocumentIn)
    with pytest.raises(msgspec.ValidationError, match="email"):
        msgspec.json.decode(
            b'{"tenant": "acme", "email": "a\\u0000@b.io", "password": "long enough"}', type=Credentials
        )


def test_version_fits_the_integer_column() -> None:
    with pytest.raises(msgspec.ValidationError, match="version"):
        msgspec.json.decode(b'{"title": "t", "body": "", "version": 2147483648}', type=DocumentUpdate)


def test_405_lists_every_method_of_the_path(app_environ: dict[str, str]) -> None:
    import asyncio

    import httpx

    from app.core.settings import build_settings
    from app.main import create_app

    app = create_app(build_settings(app_environ), configure_logs=False)

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        # ASGITransport runs no lifespan: routing answers before any client would be needed.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            patch = await client.request("PATCH", "/v1/documents/00000000-0000-0000-0000-000000000001")
            return patch, await client.options("/v1/documents")

    patch, options = asyncio.run(calls())
    assert patch.status_code == 405
    assert set(patch.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}
    assert set(options.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
