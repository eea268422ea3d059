"""market prices carry a capability score; scenarios name their comparable set

Issue 14: quality-adjusted prices need a capability score (with its source) on each market price, and
price-floor alerts compare a scenario's floor with the market prices in the set the scenario names
(providers, a model-name filter, a capability band; none = every market price).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("market_prices") as batch:
        batch.add_column(sa.Column("capability_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("capability_source", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("scenarios") as batch:
        batch.add_column(sa.Column("comparable_set", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("comparable_set")
    with op.batch_alter_table("market_prices") as batch:
        batch.drop_column("capability_source")
        batch.drop_column("capability_score")
