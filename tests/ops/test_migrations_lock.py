"""Upgrades as operators run them: several replicas migrating at once, and a migration that fails part-way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from app.config import MIGRATIONS_DIR
from app.db.migrate import alembic_config, current_revision, upgrade
from app.db.models import Accelerator
from tests.conftest import create_postgres_database, seeded_database


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once_on_postgres() -> None:
    """Four `pricewar migrate` processes on one empty database at the same moment: all succeed (the advisory
    lock makes the others wait, then find the schema at head), and the schema is at head once."""
    url, drop = create_postgres_database()
    env = {**os.environ, "DATABASE_URL": url}
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=180)[0] for p in processes]
        failed = [out for p, out in zip(processes, outputs, strict=True) if p.returncode != 0]
        assert not failed, failed[0][-3000:]
        from app.db.session import make_engine

        engine = make_engine(url)
        try:
            assert current_revision(engine) == _head()
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        finally:
            engine.dispose()
    finally:
        drop()


BROKEN = '''
"""a release whose migration fails half-way (test only)"""
import sqlalchemy as sa
from alembic import op

revision = "9999broken"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe", sa.Column("id", sa.Integer, primary_key=True))
    with op.batch_alter_table("accelerators") as batch:
        batch.add_column(sa.Column("upgrade_probe_note", sa.Text, nullable=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")  # fails after two schema changes


def downgrade() -> None:
    op.drop_table("upgrade_probe")
'''


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_failed_migration_leaves_the_old_schema_usable(backend: str) -> None:
    head = _head()
    scripts = Path(tempfile.mkdtemp(prefix="pricewar-broken-migrations-"))
    shutil.copytree(MIGRATIONS_DIR, scripts / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "migrations" / "versions" / "9999_broken.py").write_text(
        textwrap.dedent(BROKEN.format(head=head)), encoding="utf-8"
    )
    try:
        with seeded_database(backend, "failed-migration.sqlite3") as engine:
            before = _schema(engine)
            with pytest.raises(Exception, match="no_such_table"):
                upgrade(engine, "head", alembic_config(scripts / "migrations"))
            assert current_revision(engine) == head  # still the old release's version
            assert _schema(engine) == before  # neither the new table nor the new column stayed
            with Session(engine) as session:  # the old release still reads and writes
                assert len(session.scalars(select(Accelerator)).all()) == 18
                session.execute(text("UPDATE accelerators SET notes = notes"))
                session.commit()
    finally:
        shutil.rmtree(scripts, ignore_errors=True)


def _schema(engine: Engine) -> dict[str, list[str]]:
    inspector = inspect(engine)
    return {
        table: sorted(column["name"] for column in inspector.get_columns(table))
        for table in sorted(inspector.get_table_names())
    }
