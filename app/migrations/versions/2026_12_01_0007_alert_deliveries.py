"""alert deliveries

Issue 14: the outgoing price-floor webhook sends each alert once: `alert_deliveries` records which (scenario,
market price) pairs a receiver has accepted. Rows go with their scenario or market price.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("market_price_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenarios.id"],
            name=op.f("fk_alert_deliveries_scenario_id_scenarios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_price_id"],
            ["market_prices.id"],
            name=op.f("fk_alert_deliveries_market_price_id_market_prices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scenario_id", "market_price_id", name=op.f("pk_alert_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
