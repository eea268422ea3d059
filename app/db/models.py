"""ORM models: the price sheets, model configurations, scenarios and simulation runs.

Prices are effective-dated rows: a change closes the current row (`effective_to`) and adds a new one, so the
sheet "as of" any date can be read back. Money is stored as float USD (IEEE double on both backends).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TimestampedVersioned, UTCDateTime

PricingModel = Literal["on_demand", "spot", "reserved_1y", "reserved_3y", "negotiated"]
EventType = Literal["launch", "cut", "increase", "snapshot", "change"]
Verification = Literal[
    "verified-in-source", "partially-verified", "litellm-data", "from-memory", "user-entered"
]
PRICING_MODELS: tuple[str, ...] = get_args(PricingModel)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
VERIFICATION_LEVELS: tuple[str, ...] = get_args(Verification)


class Accelerator(TimestampedVersioned, Base):
    __tablename__ = "accelerators"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    vendor: Mapped[str] = mapped_column(String(80))
    form_factor: Mapped[str | None] = mapped_column(String(120))
    memory_gb: Mapped[float] = mapped_column(Float)
    memory_type: Mapped[str | None] = mapped_column(String(40))
    memory_bandwidth_tb_s: Mapped[float] = mapped_column(Float)
    fp32_tflops: Mapped[float | None] = mapped_column(Float)
    tf32_tflops: Mapped[float | None] = mapped_column(Float)
    bf16_tflops: Mapped[float | None] = mapped_column(Float)  # dense BF16/FP16 tensor peak
    fp8_tflops: Mapped[float | None] = mapped_column(Float)
    int8_tops: Mapped[float | None] = mapped_column(Float)
    fp4_tflops: Mapped[float | None] = mapped_column(Float)
    board_power_w: Mapped[float | None] = mapped_column(Float)
    interconnect: Mapped[str | None] = mapped_column(String(120))
    interconnect_bandwidth_gb_s: Mapped[float | None] = mapped_column(Float)
    release_year: Mapped[int | None] = mapped_column(Integer)
    verification: Mapped[str] = mapped_column(String(40), default="user-entered")
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    # passive_deletes="all": never null out the quotes; the database refuses the delete instead (RESTRICT).
    quotes: Mapped[list[PriceQuote]] = relationship(back_populates="accelerator", passive_deletes="all")

    __table_args__ = (
        CheckConstraint("memory_gb > 0", name="memory_positive"),
        CheckConstraint("memory_bandwidth_tb_s > 0", name="bandwidth_positive"),
    )


class PriceQuote(TimestampedVersioned, Base):
    """One offer on the price sheet, valid from `effective_from` until `effective_to` (exclusive)."""

    __tablename__ = "price_quotes"

    provider: Mapped[str] = mapped_column(String(80), index=True)
    instance_type: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(80), default="")
    accelerator_id: Mapped[int | None] = mapped_column(ForeignKey("accelerators.id", ondelete="RESTRICT"))
    accelerator_family: Mapped[str] = mapped_column(String(80), default="")
    accelerator_count: Mapped[int] = mapped_column(Integer)
    pricing_model: Mapped[str] = mapped_column(String(20))
    usd_per_hour: Mapped[float] = mapped_column(Float)
    usd_per_accelerator_hour: Mapped[float] = mapped_column(Float)
    discount_percent: Mapped[float] = mapped_column(Float, default=0.0)
    price_scope: Mapped[str] = mapped_column(String(40), default="instance_total")
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[str] = mapped_column(String(40), default="user-entered")
    notes: Mapped[str] = mapped_column(Text, default="")

    accelerator: Mapped[Accelerator | None] = relationship(back_populates="quotes")

    __table_args__ = (
        CheckConstraint("usd_per_hour > 0", name="price_positive"),
        CheckConstraint("accelerator_count > 0", name="count_positive"),
        Index(
            "ix_price_quotes_offer", "provider", "instance_type", "region", "pricing_model", "effective_from"
        ),
        # Issue 17: the cheapest offer per accelerator and pricing model is an index walk (price_sheet.
        # cheapest_offers); the sheet sorted by a per-accelerator metric walks each accelerator by price.
        Index(
            "ix_price_quotes_cheapest", "accelerator_id", "pricing_model", "usd_per_accelerator_hour", "id"
        ),
        Index("ix_price_quotes_accelerator_price", "accelerator_id", "usd_per_accelerator_hour", "id"),
        Index("ix_price_quotes_usd_per_accelerator_hour", "usd_per_accelerator_hour", "id"),
        Index("ix_price_quotes_usd_per_hour", "usd_per_hour", "id"),
        Index("ix_price_quotes_family", "accelerator_family", "id"),
        Index("ix_price_quotes_region", "region", "id"),
    )


class MarketPrice(TimestampedVersioned, Base):
    """A competitor's list price for an API model on a date (launch, cut or increase)."""

    __tablename__ = "market_prices"

    provider: Mapped[str] = mapped_column(String(80), index=True)
    model_name: Mapped[str] = mapped_column(String(160))
    tier: Mapped[str] = mapped_column(String(60), default="")
    input_usd_per_million: Mapped[float] = mapped_column(Float)
    output_usd_per_million: Mapped[float] = mapped_column(Float)
    cached_input_usd_per_million: Mapped[float | None] = mapped_column(Float)
    original_currency: Mapped[str] = mapped_column(String(8), default="USD")
    original_input_per_million: Mapped[float | None] = mapped_column(Float)
    original_output_per_million: Mapped[float | None] = mapped_column(Float)
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    date_basis: Mapped[str] = mapped_column(String(40), default="day")
    event_type: Mapped[str] = mapped_column(String(20))
    # A public benchmark or arena rating (higher is better) and where it comes from: quality-adjusted prices.
    capability_score: Mapped[float | None] = mapped_column(Float)
    capability_source: Mapped[str] = mapped_column(Text, default="", server_default="")
    change_note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[str] = mapped_column(String(40), default="user-entered")
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_market_prices_model_date", "model_name", "effective_date", "id"),
        Index("ix_market_prices_provider_date", "provider", "effective_date", "id"),
    )


class ModelConfig(TimestampedVersioned, Base):
    """A model configuration: the architecture numbers the cost engine needs."""

    __tablename__ = "model_configs"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    workload: Mapped[str] = mapped_column(String(20))
    parameter_count: Mapped[float] = mapped_column(Float)
    active_parameter_count: Mapped[float | None] = mapped_column(Float)
    layer_count: Mapped[int | None] = mapped_column(Integer)
    hidden_size: Mapped[int | None] = mapped_column(Integer)
    attention_head_count: Mapped[int | None] = mapped_column(Integer)
    kv_head_count: Mapped[int | None] = mapped_column(Integer)
    vocabulary_size: Mapped[int | None] = mapped_column(Integer)
    context_length: Mapped[int | None] = mapped_column(Integer)
    # Values cached per token per layer when attention is not standard (DeepSeek's MLA: 512 + 64).
    kv_cache_values_per_token_per_layer: Mapped[int | None] = mapped_column(Integer)
    training_tokens: Mapped[float | None] = mapped_column(Float)
    flops_per_unit: Mapped[float | None] = mapped_column(Float)
    bytes_per_unit: Mapped[float | None] = mapped_column(Float)
    unit_name: Mapped[str] = mapped_column(String(40), default="token")
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint("parameter_count > 0", name="params_positive"),)


class Scenario(TimestampedVersioned, Base):
    """A named set of simulator inputs (JSON), optionally pinned to a price-sheet date."""

    __tablename__ = "scenarios"

    name: Mapped[str] = mapped_column(String(160), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    model_config_id: Mapped[int | None] = mapped_column(ForeignKey("model_configs.id", ondelete="RESTRICT"))
    accelerator_id: Mapped[int | None] = mapped_column(ForeignKey("accelerators.id", ondelete="RESTRICT"))
    as_of: Mapped[date | None] = mapped_column(Date)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(Text, default="")
    is_preset: Mapped[bool] = mapped_column(default=False)
    # The market prices a price-floor alert compares with: {"providers": [...], "model_name_contains": "...",
    # "min_capability_score": x, "max_capability_score": y}; None = every market price.
    comparable_set: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SimulationRun(TimestampedVersioned, Base):
    """A stored simulator run: the exact inputs and seed (so it replays) and its results."""

    __tablename__ = "simulation_runs"

    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(160), default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    path_count: Mapped[int] = mapped_column(Integer)
    horizon_months: Mapped[int] = mapped_column(Integer)
    engine_version: Mapped[str] = mapped_column(String(40), default="1")
    results: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_simulation_runs_scenario", "scenario_id", "id"),)


class AlertDelivery(Base):
    """A price-floor alert (scenario, market price) a webhook receiver has accepted: each is sent once."""

    __tablename__ = "alert_deliveries"

    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True)
    market_price_id: Mapped[int] = mapped_column(
        ForeignKey("market_prices.id", ondelete="CASCADE"), primary_key=True
    )
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Access control and audit tables live in their own module; importing them here registers them with
# Base.metadata for Alembic and `from app.db.models import User` keeps working.
from app.db.access import ApiToken, AuditEntry, AuthAttempt, SetupToken, User, UserSession  # noqa: E402,F401
from app.db.fx import FxRate  # noqa: E402,F401 - display-currency rates (issue 13)
from app.db.jobs import Job, JobChunk  # noqa: E402,F401 - background jobs (app/services/jobs)
from app.db.measurements import Measurement  # noqa: E402,F401 - user measurements (issue 10)
from app.db.stats import TableStat  # noqa: E402,F401
