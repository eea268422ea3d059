"""table stats

Issue 17: `table_stats` keeps, per big table, the exact row count and a change stamp (`revision`), both
maintained by triggers on both backends, so the overview's counts and the page caches' stamps are one
primary-key lookup instead of a scan (count, sum of versions, latest update) of each table per request.
PostgreSQL: statement-level triggers with transition tables (a bulk insert of 100,000 rows is one update of
the counter) and a sequence for the stamp (never reused, even after a rollback). SQLite: row-level triggers
and a 64-bit random stamp.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = (
    "accelerators",
    "price_quotes",
    "market_prices",
    "model_configs",
    "scenarios",
    "simulation_runs",
)


def upgrade() -> None:
    op.create_table(
        "table_stats",
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_table_stats")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TRACKED:
        op.execute(
            f"INSERT INTO table_stats (table_name, row_count, revision) "  # noqa: S608 - our table names
            f"SELECT '{table}', count(*), 0 FROM {table}"
        )
    if postgres:
        op.execute("CREATE SEQUENCE table_stats_revision")
        op.execute(
            """CREATE FUNCTION table_stats_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE table_stats SET row_count = row_count + (SELECT count(*) FROM new_rows),
      revision = nextval('table_stats_revision') WHERE table_name = TG_TABLE_NAME;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE table_stats SET row_count = row_count - (SELECT count(*) FROM old_rows),
      revision = nextval('table_stats_revision') WHERE table_name = TG_TABLE_NAME;
  ELSIF TG_OP = 'TRUNCATE' THEN
    UPDATE table_stats SET row_count = 0, revision = nextval('table_stats_revision')
      WHERE table_name = TG_TABLE_NAME;
  ELSE
    UPDATE table_stats SET revision = nextval('table_stats_revision') WHERE table_name = TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END $$"""
        )
        for table in TRACKED:
            op.execute(
                f"CREATE TRIGGER table_stats_insert AFTER INSERT ON {table} "
                "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION table_stats_keep()"
            )
            op.execute(
                f"CREATE TRIGGER table_stats_delete AFTER DELETE ON {table} "
                "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION table_stats_keep()"
            )
            op.execute(
                f"CREATE TRIGGER table_stats_update AFTER UPDATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION table_stats_keep()"
            )
            op.execute(
                f"CREATE TRIGGER table_stats_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION table_stats_keep()"
            )
    else:
        for table in TRACKED:
            for event, change in (("INSERT", " + 1"), ("DELETE", " - 1"), ("UPDATE", "")):
                op.execute(
                    f"CREATE TRIGGER table_stats_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                    f"UPDATE table_stats SET row_count = row_count{change}, revision = random() "
                    f"WHERE table_name = '{table}'; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TRACKED:
            for event in ("insert", "delete", "update", "truncate"):
                op.execute(f"DROP TRIGGER IF EXISTS table_stats_{event} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS table_stats_keep()")
        op.execute("DROP SEQUENCE IF EXISTS table_stats_revision")
    else:
        for table in TRACKED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS table_stats_{table}_{event}")
    op.drop_table("table_stats")
