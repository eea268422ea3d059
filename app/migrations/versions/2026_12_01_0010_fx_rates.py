"""fx_rates: dated exchange rates for the display currency, seeded with sourced rates

The model computes in USD; the display currency (EUR, CNY, GBP, JPY) uses the latest dated rate on or before
the day shown. Seeded with the ECB euro foreign exchange reference rates of 2025-02-28 (EUR base: USD 1.0411,
JPY 156.96, GBP 0.82608, CNY 7.5782), crossed through the dollar; editors add newer dated rates.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:50:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

from app.db.base import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ECB_2025_02_28 = {"USD": 1.0411, "JPY": 156.96, "GBP": 0.82608, "CNY": 7.5782}  # units per EUR
SOURCE = (
    "ECB euro foreign exchange reference rates, 2025-02-28 (per EUR: USD 1.0411, JPY 156.96, GBP 0.82608, "
    "CNY 7.5782), crossed through USD; https://www.ecb.europa.eu/stats/policy_and_exchange_rates/"
    "euro_reference_exchange_rates/"
)


def seed_rows() -> list[dict[str, object]]:
    usd = ECB_2025_02_28["USD"]
    rows: list[dict[str, object]] = [
        {"currency": "EUR", "units_per_usd": round(1 / usd, 6), "as_of": date(2025, 2, 28), "source": SOURCE}
    ]
    for code in ("JPY", "GBP", "CNY"):
        rows.append(
            {
                "currency": code,
                "units_per_usd": round(ECB_2025_02_28[code] / usd, 6),
                "as_of": date(2025, 2, 28),
                "source": SOURCE,
            }
        )
    return [{**r, "version": 1} for r in rows]


def upgrade() -> None:
    table = op.create_table(
        "fx_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("units_per_usd", sa.Float(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            UTCDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTCDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("units_per_usd > 0", name=op.f("ck_fx_rates_positive_rate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rates")),
        sa.UniqueConstraint("currency", "as_of", name=op.f("uq_fx_rates_currency")),
    )
    op.bulk_insert(table, seed_rows())


def downgrade() -> None:
    op.drop_table("fx_rates")
