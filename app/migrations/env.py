"""Alembic environment: run against the connection that `app.migrate` hands over, one shard at a time."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

# A fixed key for the advisory lock: two migration Jobs (two deploys racing) run one after the other. The same
# as app.migrate's (which cannot be imported here: alembic loads this file by path).
MIGRATION_LOCK_KEY = 727_001


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        # Transaction-scoped, so it is released at commit and safe through a transaction-mode pooler.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `python -m app.migrate`")
run_migrations_online()
