"""drop the effective_from index

Issue 17: the price sheet "in effect on a date" (effective_from <= d and (effective_to is null or
effective_to > d)) matches most current rows, but an index led by effective_from lists the old, closed rows
first: SQLite chose it for the bounded counts of the sheet and walked every closed row before the first
current one (tens of ms at 100,000 quotes). Without it the count walks the table in id order and stops after
the cap. (Sorting the sheet by start date is then a sort of the matching rows, returning one page.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_price_quotes_effective_from", table_name="price_quotes")


def downgrade() -> None:
    op.create_index("ix_price_quotes_effective_from", "price_quotes", ["effective_from", "id"])
