"""Users, documents and attachments, with row-level security keyed on app.tenant_id.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("users", "documents", "attachments")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id uuid PRIMARY KEY,
            tenant_id text NOT NULL,
            email text NOT NULL,
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT users_tenant_email UNIQUE (tenant_id, email)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE documents (
            id uuid PRIMARY KEY,
            tenant_id text NOT NULL,
            author_id uuid NOT NULL,
            title text NOT NULL,
            body text NOT NULL,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Keyset pagination walks (created_at, id) inside one tenant.
    op.execute("CREATE INDEX documents_tenant_keyset ON documents (tenant_id, created_at, id)")
    op.execute(
        """
        CREATE TABLE attachments (
            id uuid PRIMARY KEY,
            tenant_id text NOT NULL,
            document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            filename text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint NOT NULL,
            object_key text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX attachments_tenant_document ON attachments (tenant_id, document_id)")
    for table in TABLES:
        # FORCE applies the policy to the table owner too (the migrations' role); the app role owns nothing.
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # missing_ok=true: with no tenant set the setting is NULL and no row matches.
        op.execute(
            f"""
            CREATE POLICY {table}_tenant_isolation ON {table}
            USING (tenant_id = current_setting('app.tenant_id', true))
            WITH CHECK (tenant_id = current_setting('app.tenant_id', true))
            """
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
