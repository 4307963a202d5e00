"""Least privilege in the databases: migrations run as the owner, the API and the worker as an app role that
owns nothing, is neither superuser nor BYPASSRLS, and may only read and write rows (DML).

Row-level security is ENABLED and FORCED on every tenant table, so the policy holds for the owner too; the app
role could not switch it off even if it tried (only a table's owner may). Checked on a primary and a replica.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from app_support import create_document

from devstack import LocalStack
from devstack.procs import StartError
from tests.support.clients import User
from tests.support.waiting import wait_replayed

pytestmark = pytest.mark.integration
SHARD = "shard-a"
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
NOT_GRANTED = ("TRUNCATE", "REFERENCES", "TRIGGER")


def _roles(stack: LocalStack) -> tuple[str, str]:
    shard = stack.tenant_map["shards"][SHARD]
    return shard["username"], shard["ownerUsername"]


def _as_app(stack: LocalStack, sql: str, replica: int | None = None) -> str:
    return stack.psql(SHARD, sql, replica=replica, superuser=False)


def _tenant_tables(stack: LocalStack) -> list[str]:
    """Tables of the schema with a tenant_id column."""
    rows = stack.psql(
        SHARD,
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a"
        " ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
    )
    return rows.split()


def test_the_app_role_is_no_owner_no_superuser_no_bypassrls(local_stack: LocalStack) -> None:
    app, owner = _roles(local_stack)
    assert app != owner
    for replica in (None, 0):
        flags_sql = f"SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = '{app}'"  # noqa: S608, E501 (a role name from the tenant map)
        flags = local_stack.psql(SHARD, flags_sql, replica=replica)
        assert flags == "f|f|f|f|f", (replica, flags)
        owners = local_stack.psql(
            SHARD,
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relname IN ('users', 'documents', 'attachments', 'alembic_version')",
            replica=replica,
        )
        assert owners.split() == [owner], (replica, owners)
        database_owner = local_stack.psql(
            SHARD,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
            replica=replica,
        )
        assert database_owner == owner


def test_every_tenant_table_forces_rls_and_grants_the_app_dml_only(local_stack: LocalStack) -> None:
    app, _ = _roles(local_stack)
    tenant_tables = _tenant_tables(local_stack)
    assert {"users", "documents", "attachments"} <= set(tenant_tables)
    for table in tenant_tables:
        row = local_stack.psql(
            SHARD,
            f"SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = '{table}'::regclass",  # noqa: S608 (a table name from the catalog)
        )
        assert row == "t|t", table
        for privilege in DML:
            assert (
                local_stack.psql(SHARD, f"SELECT has_table_privilege('{app}', '{table}', '{privilege}')")
                == "t"
            )
        for privilege in NOT_GRANTED:
            granted = local_stack.psql(
                SHARD, f"SELECT has_table_privilege('{app}', '{table}', '{privilege}')"
            )
            assert granted == "f", (table, privilege)
    # The migrations' bookkeeping is none of the app's business.
    for privilege in DML:
        assert (
            local_stack.psql(SHARD, f"SELECT has_table_privilege('{app}', 'alembic_version', '{privilege}')")
            == "f"
        )


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("ALTER TABLE documents DISABLE ROW LEVEL SECURITY", "must be owner of table documents"),
        ("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY", "must be owner of table documents"),
        ("DROP POLICY documents_tenant_isolation ON documents", "must be owner of relation documents"),
        ("ALTER TABLE documents OWNER TO CURRENT_USER", "must be owner of table documents"),
        ("ALTER ROLE CURRENT_USER BYPASSRLS", "must be superuser to change bypassrls attribute"),
        ("CREATE TABLE sneaky (tenant_id text)", "permission denied for schema public"),
        ("TRUNCATE documents", "permission denied for table documents"),
    ],
)
def test_the_app_role_cannot_switch_rls_off(local_stack: LocalStack, statement: str, refusal: str) -> None:
    with pytest.raises(StartError, match=refusal):
        _as_app(local_stack, statement)


def test_the_app_role_reads_only_its_tenant_on_primary_and_replica(
    api: httpx.Client, new_user: Any, local_stack: LocalStack
) -> None:
    acme: User = new_user("acme")
    globex: User = new_user("globex")  # the same shard: isolation cannot come from separate databases
    create_document(api, acme, "acme's", "private")
    create_document(api, globex)
    wait_replayed(local_stack, SHARD)
    as_globex = (
        "BEGIN; SELECT set_config('app.tenant_id', 'globex', true);"
        " SELECT count(*) FILTER (WHERE tenant_id = 'acme'), count(*) FROM documents; COMMIT;"
    )
    for replica in (None, 0):
        # The rows are there (the superuser sees them) ...
        assert (
            int(
                local_stack.psql(
                    SHARD, "SELECT count(*) FROM documents WHERE tenant_id = 'acme'", replica=replica
                )
            )
            >= 1
        )
        # ... but the app role, as globex, sees globex's only, even asking for acme's by name.
        acme_rows, total = _as_app(local_stack, as_globex, replica).splitlines()[-1].split("|")
        assert acme_rows == "0", replica
        assert int(total) >= 1, replica
        # Without a tenant it sees nothing, and it cannot turn the policy off for its session: with
        # row_security off, Postgres refuses a query the policy would filter instead of bypassing it.
        assert _as_app(local_stack, "SELECT count(*) FROM documents", replica) == "0"
        with pytest.raises(StartError, match="row-level security"):
            _as_app(local_stack, "SET row_security = off; SELECT count(*) FROM documents", replica)
