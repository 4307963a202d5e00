"""Tenant isolation: through the API, in SQL as the app role (row-level security), and in S3 prefixes.

acme and globex share shard-a, so isolation here cannot come from separate databases.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from app_support import create_document

from devstack.procs import StartError
from tests.support.clients import User

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair(new_user: Any, local_stack: Any) -> tuple[User, User]:
    tenants = local_stack.tenant_map["tenants"]
    assert tenants["acme"] == tenants["globex"], "the test needs two tenants on one shard"
    return new_user("acme"), new_user("globex")


def test_another_tenants_document_is_404_everywhere(api: httpx.Client, pair: tuple[User, User]) -> None:
    acme, globex = pair
    doc = create_document(api, acme, "secret plan", "acme only")
    att = api.post(
        f"/v1/documents/{doc['id']}/attachments", files={"file": ("a.txt", b"acme")}, headers=acme.headers
    ).json()
    url = f"/v1/documents/{doc['id']}"
    assert api.get(url, headers=globex.headers).status_code == 404
    assert (
        api.put(url, json={"title": "x", "body": "y", "version": 1}, headers=globex.headers).status_code
        == 404
    )
    assert api.delete(url, headers=globex.headers).status_code == 404
    assert api.get(f"{url}/attachments/{att['id']}", headers=globex.headers).status_code == 404
    assert (
        api.post(
            f"{url}/attachments", files={"file": ("b.txt", b"globex")}, headers=globex.headers
        ).status_code
        == 404
    )
    listed = api.get("/v1/documents", params={"limit": 100}, headers=globex.headers).json()["items"]
    assert doc["id"] not in {item["id"] for item in listed}
    # And the owner still has it, unchanged.
    assert api.get(url, headers=acme.headers).json()["version"] == 1


def test_another_tenants_export_is_404(api: httpx.Client, pair: tuple[User, User]) -> None:
    acme, globex = pair
    job_id = api.post("/v1/exports", headers=acme.headers).json()["job_id"]
    assert api.get(f"/v1/exports/{job_id}", headers=acme.headers).status_code == 200
    assert api.get(f"/v1/exports/{job_id}", headers=globex.headers).status_code == 404


def _app_sql(local_stack: Any, sql: str) -> str:
    """Run SQL on shard-a's primary as the app role (not the superuser), in one transaction."""
    return str(local_stack.psql("shard-a", sql, superuser=False))


def test_row_level_security_as_the_app_role(
    api: httpx.Client, pair: tuple[User, User], local_stack: Any
) -> None:
    acme, globex = pair
    create_document(api, acme)
    create_document(api, globex)
    no_tenant = _app_sql(local_stack, "SELECT count(*) FROM documents")
    assert no_tenant.strip() == "0", "without app.tenant_id the app role sees no row"
    as_globex = _app_sql(
        local_stack,
        "BEGIN; SELECT set_config('app.tenant_id', 'globex', true);"
        " SELECT count(*) FILTER (WHERE tenant_id <> 'globex'), count(*) FROM documents; COMMIT;",
    )
    other, total = as_globex.strip().splitlines()[-1].split("|")
    assert other == "0"
    assert int(total) >= 1
    # Even a query that forgets the tenant filter cannot write into another tenant's rows.
    _app_sql(
        local_stack,
        "BEGIN; SELECT set_config('app.tenant_id', 'globex', true);"
        " UPDATE documents SET title = 'pwned' WHERE tenant_id = 'acme'; COMMIT;",
    )
    with pytest.raises(StartError, match="row-level security"):
        _app_sql(
            local_stack,
            "BEGIN; SELECT set_config('app.tenant_id', 'globex', true);"
            " INSERT INTO documents (id, tenant_id, author_id, title, body)"
            " VALUES (gen_random_uuid(), 'acme', gen_random_uuid(), 'x', 'y'); COMMIT;",
        )
    pwned = local_stack.psql("shard-a", "SELECT count(*) FROM documents WHERE title = 'pwned'")
    assert pwned.strip() == "0"


def test_the_one_statement_read_sets_its_own_tenant_and_reads_under_rls(
    api: httpx.Client, pair: tuple[User, User], local_stack: Any
) -> None:
    """document_by_id (migration 0002), the uncached GET's single statement: the tenant it is given is the
    only one it can read, the tenant setting ends with the statement, and it runs with the caller's rights
    (not SECURITY DEFINER), so the app role's forced row-level security stays the second wall inside it."""
    acme, globex = pair
    doc = create_document(api, acme, "acme's", "one statement")
    definer = local_stack.psql("shard-a", "SELECT prosecdef FROM pg_proc WHERE proname = 'document_by_id'")
    assert definer.strip() == "f"

    async def scenario() -> tuple[int, int, str | None, int]:
        conn = await asyncpg.connect(local_stack.pgbouncer_dsn("shard-a"), statement_cache_size=0)
        try:
            by_id = "SELECT count(*) FROM document_by_id($1, $2)"
            as_owner = await conn.fetchval(by_id, "acme", uuid.UUID(doc["id"]))
            as_other = await conn.fetchval(by_id, "globex", uuid.UUID(doc["id"]))
            # The next statement (in PgBouncer's transaction mode: whatever server it lands on) has no tenant.
            after = await conn.fetchval("SELECT current_setting('app.tenant_id', true)")
            visible = await conn.fetchval("SELECT count(*) FROM documents")
            return as_owner, as_other, after, visible
        finally:
            await conn.close()

    as_owner, as_other, after, visible = asyncio.run(scenario())
    assert (as_owner, as_other) == (1, 0)
    assert after in (None, "")
    assert visible == 0
    # And through the API, cache off or on, another tenant's id stays a 404 (the route's own test above).
    assert api.get(f"/v1/documents/{doc['id']}", headers=globex.headers).status_code == 404


def test_rls_is_enabled_and_forced_on_every_table(local_stack: Any) -> None:
    for shard in ("shard-a", "shard-b"):
        rows = local_stack.psql(
            shard,
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relname IN ('users', 'documents', 'attachments') ORDER BY relname",
        )
        assert rows.split() == ["attachments|t|t", "documents|t|t", "users|t|t"]


def test_s3_objects_live_under_their_tenants_prefix(
    api: httpx.Client, pair: tuple[User, User], s3: Any, local_stack: Any
) -> None:
    bucket = local_stack.s3_bucket
    uploaded: dict[str, str] = {}
    for user in pair:
        doc = create_document(api, user)
        files = {"file": ("x.txt", user.tenant.encode())}
        meta = api.post(f"/v1/documents/{doc['id']}/attachments", files=files, headers=user.headers).json()
        uploaded[user.tenant] = meta["id"]
    for tenant, attachment_id in uploaded.items():
        other = next(t for t in uploaded if t != tenant)
        mine = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{tenant}/")["Contents"]]
        theirs = s3.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{other}/").get("Contents", [])
        key = next(k for k in mine if k.endswith(attachment_id))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == tenant.encode()
        assert not any(o["Key"].endswith(attachment_id) for o in theirs)
