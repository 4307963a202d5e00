"""Tenant isolation beyond tests/app/test_app_isolation.py: reports, export contents, cursors and ids
crossed between tenants, every table on primaries and replicas under the app's own role, presigned URLs, and
isolation under concurrent mixed-tenant load (pooled connections must never carry one tenant's setting into
another's request).

acme and globex share shard-a: nothing here can pass because tenants live in separate databases.
"""

# ruff: noqa: S608 - the SQL here is built from ids and tenant names the tests made themselves.
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit, urlunsplit

import httpx
import pytest

from devstack import LocalStack
from devstack.procs import StartError
from tests.support.clients import User
from tests.support.waiting import wait_replayed, wait_until

pytestmark = pytest.mark.integration

TABLES = ("users", "documents", "attachments")


class Tenant:
    def __init__(self, api: httpx.Client, user: User) -> None:
        self.user = user
        self.docs: list[dict[str, Any]] = []
        self.attachments: dict[str, dict[str, Any]] = {}
        for i in range(3):
            created = api.post(
                "/v1/documents", json={"title": f"{user.tenant}-{i}", "body": "x"}, headers=user.headers
            )
            assert created.status_code == 201
            self.docs.append(created.json())
        first = self.docs[0]["id"]
        uploaded = api.post(
            f"/v1/documents/{first}/attachments",
            files={"file": ("secret.txt", f"{user.tenant} secret".encode())},
            headers=user.headers,
        )
        assert uploaded.status_code == 201
        self.attachments[first] = uploaded.json()

    @property
    def doc_ids(self) -> set[str]:
        return {doc["id"] for doc in self.docs}


@pytest.fixture(scope="module")
def pair(
    api: httpx.Client, new_user: Callable[[str], User], local_stack: LocalStack
) -> tuple[Tenant, Tenant]:
    tenants = local_stack.tenant_map["tenants"]
    assert tenants["acme"] == tenants["globex"]
    return Tenant(api, new_user("acme")), Tenant(api, new_user("globex"))


def test_reports_count_only_the_callers_rows(
    api: httpx.Client, pair: tuple[Tenant, Tenant], local_stack: LocalStack
) -> None:
    acme, globex = pair
    wait_replayed(local_stack, "shard-a")
    for tenant in pair:
        summary = api.get("/v1/reports/summary", headers=tenant.user.headers).json()
        truth = local_stack.psql(
            "shard-a",
            f"SELECT (SELECT count(*) FROM documents WHERE tenant_id = '{tenant.user.tenant}'),"
            f" (SELECT count(*) FROM attachments WHERE tenant_id = '{tenant.user.tenant}')",
        )
        assert summary["tenant"] == tenant.user.tenant
        assert f"{summary['documents']}|{summary['attachments']}" == truth.strip()
    assert acme.user.tenant != globex.user.tenant


def test_an_export_holds_only_the_callers_documents(
    api: httpx.Client, pair: tuple[Tenant, Tenant], s3: Any, local_stack: LocalStack
) -> None:
    acme, globex = pair
    job = api.post("/v1/exports", headers=globex.user.headers | {"idempotency-key": "iso-export"})
    assert job.status_code == 202
    job_id = job.json()["job_id"]
    state: dict[str, Any] = {}

    def done() -> bool:
        state.update(api.get(f"/v1/exports/{job_id}", headers=globex.user.headers).json())
        return state["status"] in ("done", "failed")

    wait_until(done, timeout=60, what="the export")
    assert state["status"] == "done"
    key = f"tenants/globex/exports/{job_id}.jsonl"
    lines = s3.get_object(Bucket=local_stack.s3_bucket, Key=key)["Body"].read().splitlines()
    exported = {json.loads(line)["id"] for line in lines}
    assert globex.doc_ids <= exported
    assert not acme.doc_ids & exported
    # The same idempotency key from another tenant is another job: ids are derived per tenant.
    other = api.post("/v1/exports", headers=acme.user.headers | {"idempotency-key": "iso-export"})
    assert other.status_code == 202
    assert other.json()["job_id"] != job_id
    assert api.get(f"/v1/exports/{job_id}", headers=acme.user.headers).status_code == 404


def test_crossed_ids_are_404(api: httpx.Client, pair: tuple[Tenant, Tenant]) -> None:
    acme, globex = pair
    acme_doc, acme_att = next(iter(acme.attachments.items()))
    globex_doc = globex.docs[0]["id"]
    # globex's own document with acme's attachment id, and the reverse.
    assert (
        api.get(f"/v1/documents/{globex_doc}/attachments/{acme_att['id']}", headers=globex.user.headers)
    ).status_code == 404
    assert (
        api.get(f"/v1/documents/{acme_doc}/attachments/{acme_att['id']}", headers=globex.user.headers)
    ).status_code == 404
    # Deleting acme's document as globex removes nothing, not even acme's object.
    assert api.delete(f"/v1/documents/{acme_doc}", headers=globex.user.headers).status_code == 404
    fetched = api.get(f"/v1/documents/{acme_doc}/attachments/{acme_att['id']}", headers=acme.user.headers)
    assert fetched.status_code == 200
    assert httpx.get(fetched.json()["download_url"], timeout=10).content == b"acme secret"


def test_another_tenants_cursor_pages_only_through_your_own_rows(
    api: httpx.Client, pair: tuple[Tenant, Tenant]
) -> None:
    acme, globex = pair
    page = api.get("/v1/documents", params={"limit": 1}, headers=acme.user.headers).json()
    assert page["next_cursor"]
    seen: set[str] = set()
    cursor = page["next_cursor"]
    while cursor:
        page = api.get(
            "/v1/documents", params={"limit": 50, "cursor": cursor}, headers=globex.user.headers
        ).json()
        seen |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
    assert not seen & acme.doc_ids


def _as_app(stack: LocalStack, shard: str, sql: str, replica: int | None = None) -> str:
    return stack.psql(shard, sql, replica=replica, superuser=False).strip()


@pytest.mark.parametrize("replica", [None, 0], ids=["primary", "replica"])
def test_row_level_security_on_every_table_as_the_app_role(
    pair: tuple[Tenant, Tenant], local_stack: LocalStack, replica: int | None
) -> None:
    acme, _ = pair
    wait_replayed(local_stack, "shard-a")
    for table in TABLES:
        # No tenant set: no row at all, whatever the filter.
        assert _as_app(local_stack, "shard-a", f"SELECT count(*) FROM {table}", replica) == "0", table
        # globex set: acme's rows do not exist, even by primary key.
        acme_rows = _as_app(
            local_stack,
            "shard-a",
            "BEGIN; SELECT set_config('app.tenant_id', 'globex', true);"
            f" SELECT count(*) FROM {table} WHERE tenant_id = 'acme'; COMMIT;",
            replica,
        )
        assert acme_rows.splitlines()[-1] == "0", table
    # A tenant id that tries to widen the policy is only a string that matches nothing.
    widened = _as_app(
        local_stack,
        "shard-a",
        "BEGIN; SELECT set_config('app.tenant_id', $$' OR '1'='1$$, true);"
        " SELECT count(*) FROM documents; COMMIT;",
        replica,
    )
    assert widened.splitlines()[-1] == "0"
    doc_id = next(iter(acme.doc_ids))
    by_id = _as_app(
        local_stack,
        "shard-a",
        f"BEGIN; SELECT set_config('app.tenant_id', 'globex', true); SELECT count(*) FROM documents WHERE id = '{doc_id}'; COMMIT;",  # noqa: E501
        replica,
    )
    assert by_id.splitlines()[-1] == "0"


def _truth(stack: LocalStack, doc_id: str) -> str:
    """What the superuser sees of acme's document, its attachments and acme's password hashes."""
    return stack.psql(
        "shard-a",
        f"SELECT (SELECT tenant_id || ':' || title || ':' || version FROM documents WHERE id = '{doc_id}'),"
        f" (SELECT count(*) FROM attachments WHERE document_id = '{doc_id}'),"
        " (SELECT md5(string_agg(password_hash, ',' ORDER BY id)) FROM users WHERE tenant_id = 'acme')",
    )


def test_writes_into_another_tenant_are_refused_in_sql(
    pair: tuple[Tenant, Tenant], local_stack: LocalStack
) -> None:
    acme, _ = pair
    doc_id = next(iter(acme.attachments))
    before = _truth(local_stack, doc_id)
    as_globex = "BEGIN; SELECT set_config('app.tenant_id', 'globex', true); {sql} COMMIT;"
    for sql in (
        f"UPDATE documents SET title = 'pwned' WHERE id = '{doc_id}';",
        f"DELETE FROM attachments WHERE document_id = '{doc_id}';",
        f"DELETE FROM documents WHERE id = '{doc_id}';",
        "UPDATE users SET password_hash = 'x' WHERE tenant_id = 'acme';",
    ):
        _as_app(local_stack, "shard-a", as_globex.format(sql=sql))  # runs, and touches no row
    for sql in (
        # Moving a row into one's own tenant, or writing a row for another tenant, breaks WITH CHECK.
        "INSERT INTO documents (id, tenant_id, author_id, title, body)"
        " VALUES (gen_random_uuid(), 'acme', gen_random_uuid(), 'x', 'y');",
        "UPDATE documents SET tenant_id = 'acme' WHERE tenant_id = 'globex';",
    ):
        with pytest.raises(StartError, match="row-level security"):
            _as_app(local_stack, "shard-a", as_globex.format(sql=sql))
    assert _truth(local_stack, doc_id) == before
    assert before.split("|")[1] == "1", "the document still has its attachment"


def test_presigned_urls_are_scoped_to_one_key(
    api: httpx.Client, pair: tuple[Tenant, Tenant], local_stack: LocalStack
) -> None:
    acme, globex = pair
    acme_doc, acme_att = next(iter(acme.attachments.items()))
    globex_doc, globex_att = next(iter(globex.attachments.items()))
    url = api.get(
        f"/v1/documents/{globex_doc}/attachments/{globex_att['id']}", headers=globex.user.headers
    ).json()["download_url"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.endswith(f"/tenants/globex/documents/{globex_doc}/attachments/{globex_att['id']}")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert (
        0 < int(query["X-Amz-Expires"][0]) <= int(local_stack.app_env.get("NEXUS_S3_PRESIGN_SECONDS", "300"))
    )
    assert httpx.get(url, timeout=10).content == b"globex secret"
    secret = local_stack.app_env["AWS_SECRET_ACCESS_KEY"]
    # The local S3 server does not check presigned signatures; AWS does, so check them the way AWS would.
    assert _sigv4_query_valid(url, secret), "the URL the API issued verifies"
    other_path = parts.path.replace(
        f"tenants/globex/documents/{globex_doc}/attachments/{globex_att['id']}",
        f"tenants/acme/documents/{acme_doc}/attachments/{acme_att['id']}",
    )
    assert not _sigv4_query_valid(urlunsplit(parts._replace(path=other_path)), secret)
    widened = urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + "/"))
    assert not _sigv4_query_valid(widened, secret), "the signature does not cover a prefix listing"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _sigv4_query_valid(url: str, secret: str) -> bool:
    """Check a presigned S3 GET (SigV4 in the query string) as S3 does: rebuild the canonical request from
    the URL as received, sign it with the secret key, compare."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(pairs)["X-Amz-Signature"]
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs) if k != "X-Amz-Signature"
    )
    path = quote(unquote(parts.path), safe="/~")
    headers = f"host:{parts.netloc}\n"
    canonical = "\n".join(["GET", path, canonical_query, headers, "host", "UNSIGNED-PAYLOAD"])
    params = dict(pairs)
    _, date, region, service, terminal = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminal}"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), terminal)
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), given)


def test_isolation_holds_under_concurrent_mixed_tenant_load(
    pair: tuple[Tenant, Tenant], local_stack: LocalStack
) -> None:
    """Interleaved requests of both tenants share pooled server connections (PgBouncer, transaction mode):
    every answer must still belong to its caller."""
    acme, globex = pair
    owners = dict.fromkeys(acme.doc_ids, "acme") | dict.fromkeys(globex.doc_ids, "globex")
    leaks: list[str] = []

    async def one(client: httpx.AsyncClient, tenant: Tenant, other: Tenant, n: int) -> int:
        if n % 2:
            page = (await client.get("/v1/documents?limit=100", headers=tenant.user.headers)).json()
            for item in page["items"]:
                if owners.get(item["id"], tenant.user.tenant) != tenant.user.tenant:
                    leaks.append(f"{tenant.user.tenant} listed {item['id']}")
            return 200
        target = next(iter(other.doc_ids))
        response = await client.get(f"/v1/documents/{target}", headers=tenant.user.headers)
        if response.status_code != 404:
            leaks.append(f"{tenant.user.tenant} read {target}: {response.status_code}")
        return response.status_code

    async def load() -> list[int]:
        async with httpx.AsyncClient(base_url=local_stack.url, timeout=30) as client:
            jobs = [one(client, *((acme, globex) if n % 4 < 2 else (globex, acme)), n) for n in range(400)]
            results: list[int] = []
            for start in range(0, len(jobs), 16):  # 16 in flight at a time, 400 in all
                results += await asyncio.gather(*jobs[start : start + 16])
            return results

    statuses = asyncio.run(load())
    assert len(statuses) == 400
    assert not leaks, leaks[:5]
