"""Schema migrations from the scripts inside the installed package, safe to start from several replicas.

`upgrade()` runs Alembic on one connection inside ONE transaction that first takes a lock:
- PostgreSQL: `pg_advisory_xact_lock`. A second replica starting at the same time waits, then finds the
  schema at head and does nothing; the lock ends with the transaction (commit, rollback or lost connection).
- SQLite: the engine begins every transaction with `BEGIN IMMEDIATE`, the database's write lock.
Both backends run DDL transactionally, so a migration that fails part-way rolls back whole: the database
keeps its old schema and version, and the old release keeps working on it.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from app.config import MIGRATIONS_DIR

# Any constant shared by every replica; pg_advisory_xact_lock takes a 64-bit key ("pricewar" in ASCII).
MIGRATION_LOCK_KEY = int.from_bytes(b"pricewar", "big") & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(script_location: Path = MIGRATIONS_DIR) -> Config:
    """Alembic's configuration built in code (the repository's alembic.ini is only for the `alembic` command
    during development; an installed wheel has no such file)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["configure_logger"] = False
    return config


def lock_for_migrations(connection: Connection) -> None:
    """Serialise migrations across processes and machines for the rest of `connection`'s transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head", config: Config | None = None) -> None:
    """Bring the schema to `revision` under the migration lock, all in one transaction."""
    from alembic import command

    config = config or alembic_config()
    with engine.begin() as connection:
        lock_for_migrations(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
