"""The tenants each shard serves, with their state, and the guard every write transaction runs.

`shard_tenants` is the shard's own record of which tenants it owns: the app serves a tenant only where the
shard the map (or a routing override) names has it `active`; `python -m app.tenants move` walks a tenant
through `moving_out` (source) / `moving_in` (target) to `retired` / `active`. It has no `tenant_id` column
on purpose: it is not tenant data (no row-level security, never copied by a move).

`nexus_tenant_guard(tenant)` runs at the start of every write transaction of the API and the worker
(app.core.db.begin_sql). It takes a shared transaction-level advisory lock on the tenant, which the move's
freeze takes exclusively: the freeze waits for in-flight write transactions to end and every later one sees
the new state. So no write commits on the source once the freeze has committed, whatever an API instance's
cached state says. A `moving_out` tenant's transaction is made read-only (reads go on, any write fails with
25006); any other state than `active` raises NXT01 (tenant_moving) or NXT02 (tenant_not_on_shard).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# 727002 is the advisory lock class of tenant moves (the second key is hashtext(tenant)); the move's freeze
# (app.tenants.registry) takes the same lock exclusively. '5 minutes' is app.core.tenantroute's
# RECENT_RETIREMENT_SECONDS: just after a switch, the source still answers tenant_moving.


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE shard_tenants (
            tenant text PRIMARY KEY,
            state text NOT NULL CHECK (state IN ('active', 'moving_out', 'moving_in', 'retired')),
            peer_shard text,
            changed_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION nexus_tenant_guard(t text) RETURNS void
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            s text;
            since timestamptz;
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(727002, hashtext(t));
            SELECT state, changed_at INTO s, since FROM public.shard_tenants WHERE tenant = t;
            IF s = 'active' THEN
                RETURN;
            ELSIF s = 'moving_out' THEN
                PERFORM set_config('transaction_read_only', 'on', true);
                RETURN;
            ELSIF s = 'moving_in' OR (s = 'retired' AND since > now() - interval '5 minutes') THEN
                RAISE EXCEPTION 'tenant % is moving', t USING ERRCODE = 'NXT01';
            END IF;
            RAISE EXCEPTION 'tenant % is not on this shard', t USING ERRCODE = 'NXT02';
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION nexus_tenant_guard(text)")
    op.execute("DROP TABLE shard_tenants")
