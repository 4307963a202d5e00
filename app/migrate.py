"""`python -m app.migrate`: bring every shard of the tenant map to the latest schema.

Used by the Kubernetes migration Job on every deploy, so it must be idempotent: alembic records the applied
revision per shard, and an advisory lock serialises concurrent runs. It connects to each shard's writer
endpoint (the pooler) with a synchronous driver that never uses server-side prepared statements.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.core.dbtls import libpq_params
from app.core.logs import configure_logging
from app.core.settings import Settings, build_settings

log = logging.getLogger("app.migrate")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def shard_url(settings: Settings, shard_id: str) -> str:
    """The shard's writer as a SQLAlchemy URL, with the same TLS choice as the API (verify-full against
    NEXUS_DB_CA_BUNDLE, through libpq's sslmode and sslrootcert)."""
    shard = settings.tenant_map.shards[shard_id]
    password = quote(settings.db_passwords[shard_id].get_secret_value(), safe="")
    user = quote(shard.username, safe="")
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
    engine = create_engine(shard_url(settings, shard_id), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def main() -> int:
    settings = build_settings(signs_tokens=False)
    configure_logging(settings.server.log_level)
    failed = []
    for shard_id in settings.tenant_map.shards:
        try:
            migrate_shard(settings, shard_id)
            log.info("shard migrated", extra={"shard": shard_id})
        except Exception:  # one broken shard must not hide the state of the others
            log.exception("shard migration failed", extra={"shard": shard_id})
            failed.append(shard_id)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
