"""scale indexes

Issue 17: the filters and sort orders of the hot queries are index walks on both backends — the cheapest
offer per accelerator and pricing model, the price sheet by price / date / family / region, the market
prices by model and provider over time, the stored runs by scenario, and the audit log newest first (plain
or filtered by entity, actor or action) at a million entries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ix_price_quotes_cheapest",
        "price_quotes",
        ("accelerator_id", "pricing_model", "usd_per_accelerator_hour", "id"),
    ),
    (
        "ix_price_quotes_accelerator_price",
        "price_quotes",
        ("accelerator_id", "usd_per_accelerator_hour", "id"),
    ),
    ("ix_price_quotes_usd_per_accelerator_hour", "price_quotes", ("usd_per_accelerator_hour", "id")),
    ("ix_price_quotes_usd_per_hour", "price_quotes", ("usd_per_hour", "id")),
    ("ix_price_quotes_effective_from", "price_quotes", ("effective_from", "id")),
    ("ix_price_quotes_family", "price_quotes", ("accelerator_family", "id")),
    ("ix_price_quotes_region", "price_quotes", ("region", "id")),
    ("ix_market_prices_model_date", "market_prices", ("model_name", "effective_date", "id")),
    ("ix_market_prices_provider_date", "market_prices", ("provider", "effective_date", "id")),
    ("ix_simulation_runs_scenario", "simulation_runs", ("scenario_id", "id")),
    ("ix_audit_entries_at_id", "audit_entries", ("at", "id")),
    ("ix_audit_entries_entity_at", "audit_entries", ("entity", "entity_id", "at", "id")),
    ("ix_audit_entries_actor_at", "audit_entries", ("actor", "at", "id")),
    ("ix_audit_entries_action_at", "audit_entries", ("action", "at", "id")),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
