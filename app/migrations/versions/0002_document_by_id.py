"""document_by_id(tenant, id): the single-document read in one statement that sets the tenant itself.

The API's uncached `GET /v1/documents/{id}` was a transaction of four round trips through the pooler (BEGIN
with set_config, prepare, execute, COMMIT). Called on its own, outside an explicit transaction, this function
runs in the statement's implicit transaction: it sets `app.tenant_id` with set_config(..., true), which ends
with that transaction, and reads under the row-level security policy of 0001 like any query of the app role.
SECURITY INVOKER (the default, spelled out): it runs with the caller's rights, so the app role's FORCEd
policy applies inside it; the WHERE on tenant_id is the first wall, the policy the second.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION document_by_id(p_tenant text, p_id uuid)
        RETURNS TABLE (
            id uuid, title text, body text, version integer, created_at timestamptz, updated_at timestamptz
        )
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER
        AS $fn$
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant, true);
            RETURN QUERY
                SELECT d.id, d.title, d.body, d.version, d.created_at, d.updated_at
                FROM public.documents d
                WHERE d.tenant_id = p_tenant AND d.id = p_id;
        END
        $fn$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION document_by_id(text, uuid)")
