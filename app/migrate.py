"""`python -m app.migrate`: bring every shard of the tenant map to the latest schema.

Used by the Kubernetes migration Job on every deploy, so it must be idempotent: alembic records the applied
revision per shard, and an advisory lock serialises concurrent runs. It connects to each shard's writer
endpoint (the pooler) with a synchronous driver that never uses server-side prepared statements.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from alembic import command
from alembic.config import Config
from pydantic import SecretStr
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from app.core.dbtls import libpq_params
from app.core.logs import configure_logging
from app.core.settings import Settings, build_settings
from app.tenants import registry

log = logging.getLogger("app.migrate")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 727_001
"""The advisory lock of every migration transaction (app/migrations/env.py takes the same)."""
ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def shard_url(settings: Settings, shard_id: str) -> str:
    """The shard's writer as a SQLAlchemy URL, as the schema's owner where the tenant map names one, with the
    same TLS choice as the API (verify-full against NEXUS_DB_CA_BUNDLE, through libpq's sslmode and
    sslrootcert)."""
    shard = settings.tenant_map.shards[shard_id]
    if shard.owner_username is not None:
        login, secret = shard.owner_username, settings.db_owner_passwords[shard_id]
    else:
        login, secret = shard.username, settings.db_passwords[shard_id]
    password = quote(secret.get_secret_value(), safe="")
    user = quote(login, safe="")
    params = libpq_params(settings.db.ssl, settings.db.ca_bundle)
    params["connect_timeout"] = str(max(1, int(settings.db.connect_timeout_seconds)))
    return (
        f"postgresql+psycopg2://{user}:{password}@{shard.writer.host}:{shard.writer.port}/{shard.database}"
        f"?{urlencode(params)}"
    )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate_shard(settings: Settings, shard_id: str, revision: str = "head") -> None:
    shard = settings.tenant_map.shards[shard_id]
    engine = create_engine(shard_url(settings, shard_id), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if shard.owner_username is not None:
                with connection.begin():
                    _lock(connection)
                    provision_app_role(connection, shard.username, settings.db_passwords[shard_id])
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
            if shard.owner_username is not None:
                with connection.begin():
                    _lock(connection)
                    grant_tenant_tables(connection, shard.username)
    finally:
        engine.dispose()


def _lock(connection: Connection) -> None:
    # The same transaction-scoped lock as the revisions take (app/migrations/env.py): concurrent Jobs queue.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _role(name: str) -> str:
    if not ROLE_RE.fullmatch(name):
        raise ValueError(f"not a plain role name: {name!r}")
    return name


def provision_app_role(connection: Connection, role: str, password: SecretStr) -> None:
    """Create the app role if missing and set its password (from the app's secret, so a rotated secret
    takes effect at the next deploy). CREATE ROLE's defaults are NOSUPERUSER, NOBYPASSRLS and NOREPLICATION;
    the owner, not a superuser (RDS's master user is none), cannot grant those anyway. Refuses to go on
    when the role has any of them, e.g. made by hand."""
    name = _role(role)
    connection.exec_driver_sql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} LOGIN; END IF; END $$"
    )
    # psycopg2 binds the parameter client-side, so the password is a quoted literal, never SQL.
    connection.exec_driver_sql(
        f"ALTER ROLE {name} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %(password)s",
        {"password": password.get_secret_value()},
    )
    flags = connection.execute(
        text("SELECT rolsuper, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = :role"),
        {"role": name},
    ).one()
    if any(flags):
        raise RuntimeError(f"role {name} is superuser, BYPASSRLS or REPLICATION: not an app role")


def grant_tenant_tables(connection: Connection, role: str) -> None:
    """DML, and nothing else, on every tenant table (a table of the schema with a `tenant_id` column), each
    of which must have row-level security ENABLED and FORCED (a revision that forgot it fails the migration
    here, before the app can use the table). Other tables, the migrations' bookkeeping among them, are
    none of the app's business."""
    name = _role(role)
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
    ).all()
    unforced = [table for table, forced in rows if not forced]
    if unforced:
        raise RuntimeError(f"tables without FORCE ROW LEVEL SECURITY: {', '.join(unforced)}")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {name}")
    for table, _ in rows:
        connection.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {name}')
    connection.exec_driver_sql(f"REVOKE ALL ON alembic_version FROM {name}")
    # The shard's record of its tenants (migration 0003): the app reads it to route, never writes it.
    connection.exec_driver_sql(f"REVOKE ALL ON shard_tenants FROM {name}")
    connection.exec_driver_sql(f"GRANT SELECT ON shard_tenants TO {name}")


def register_tenants(settings: Settings, shard_ids: list[str]) -> bool:
    """Register the map's new tenants `active` on their shard (app.tenants.registry.new_tenants), once
    every shard's registry has been read; False (and nothing registered) when a shard could not be read,
    because a tenant seen on no shard might be on that one."""
    known = {}
    for shard_id in shard_ids:
        engine = create_engine(shard_url(settings, shard_id), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                known[shard_id] = registry.read_all(connection)
                connection.rollback()
        except Exception:
            log.exception("tenant registry not read; no tenant registered", extra={"shard": shard_id})
            return False
        finally:
            engine.dispose()
    register, warnings = registry.new_tenants(settings.tenant_map.tenants, known)
    for warning in warnings:
        log.warning(warning)
    for tenant, shard_id in register.items():
        engine = create_engine(shard_url(settings, shard_id), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                registry.set_state(connection, tenant, "active")
        finally:
            engine.dispose()
        log.info("tenant registered", extra={"tenant": tenant, "shard": shard_id})
    return True


def main() -> int:
    settings = build_settings(signs_tokens=False, owner=True)
    configure_logging(settings.server.log_level)
    failed = []
    for shard_id in settings.tenant_map.shards:
        try:
            migrate_shard(settings, shard_id)
            log.info("shard migrated", extra={"shard": shard_id})
        except Exception:  # one broken shard must not hide the state of the others
            log.exception("shard migration failed", extra={"shard": shard_id})
            failed.append(shard_id)
    if failed:
        return 1
    return 0 if register_tenants(settings, list(settings.tenant_map.shards)) else 1


if __name__ == "__main__":
    sys.exit(main())
