"""measurements

Issue 10: throughput measured on the user's own runs (training tokens/s or serving output tokens/s), from
which the engine fits per-accelerator efficiency factors. Rows go with their model or accelerator.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "measurements",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("model_config_id", sa.Integer(), nullable=False),
        sa.Column("accelerator_id", sa.Integer(), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("precision", sa.String(length=10), nullable=False),
        sa.Column("activation_precision", sa.String(length=10), nullable=True),
        sa.Column("kv_cache_precision", sa.String(length=10), nullable=True),
        sa.Column("prompt_token_count", sa.Integer(), nullable=True),
        sa.Column("output_token_count", sa.Integer(), nullable=True),
        sa.Column("concurrency", sa.Integer(), nullable=True),
        sa.Column("tokens_per_second", sa.Float(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            app.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            app.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("gpu_count > 0", name=op.f("ck_measurements_gpu_count_positive")),
        sa.CheckConstraint("tokens_per_second > 0", name=op.f("ck_measurements_tokens_per_second_positive")),
        sa.CheckConstraint("kind IN ('training', 'serving')", name=op.f("ck_measurements_kind_known")),
        sa.ForeignKeyConstraint(
            ["model_config_id"],
            ["model_configs.id"],
            name=op.f("fk_measurements_model_config_id_model_configs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["accelerator_id"],
            ["accelerators.id"],
            name=op.f("fk_measurements_accelerator_id_accelerators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
    )
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measurements_model_config_id"), ["model_config_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_measurements_accelerator_id"), ["accelerator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurements_accelerator_id"))
        batch_op.drop_index(batch_op.f("ix_measurements_model_config_id"))
    op.drop_table("measurements")
