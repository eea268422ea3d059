"""Throughput the user measured on their own runs (issue 10): the engine fits per-accelerator efficiency
factors on them (app/services/measurements.py) and uses them when an estimate opts in."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampedVersioned

MEASUREMENT_KINDS = ("training", "serving")


class Measurement(TimestampedVersioned, Base):
    """One observation. kind "training": tokens_per_second of the whole run on gpu_count GPUs at `precision`
    (or step_time_s with tokens_per_step); kind "serving": output_tokens_per_second of one replica of
    gpu_count GPUs at the weight/activation/KV precisions with prompt/output lengths (and concurrency)."""

    __tablename__ = "measurements"

    kind: Mapped[str] = mapped_column(String(20))
    model_config_id: Mapped[int] = mapped_column(
        ForeignKey("model_configs.id", ondelete="CASCADE"), index=True
    )
    accelerator_id: Mapped[int] = mapped_column(ForeignKey("accelerators.id", ondelete="CASCADE"), index=True)
    gpu_count: Mapped[int] = mapped_column(Integer)
    precision: Mapped[str] = mapped_column(String(10), default="bf16")
    activation_precision: Mapped[str | None] = mapped_column(String(10))
    kv_cache_precision: Mapped[str | None] = mapped_column(String(10))
    prompt_token_count: Mapped[int | None] = mapped_column(Integer)
    output_token_count: Mapped[int | None] = mapped_column(Integer)
    concurrency: Mapped[int | None] = mapped_column(Integer)
    tokens_per_second: Mapped[float] = mapped_column(Float)
    measured_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("gpu_count > 0", name="gpu_count_positive"),
        CheckConstraint("tokens_per_second > 0", name="tokens_per_second_positive"),
        CheckConstraint("kind IN ('training', 'serving')", name="kind_known"),
    )
