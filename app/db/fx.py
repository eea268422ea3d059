"""Dated exchange rates for the display currency: the model computes in USD; pages, CSVs and the board pack
may show another currency at the rate in effect (the latest dated rate on or before the day shown)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampedVersioned

DISPLAY_CURRENCIES = ("USD", "EUR", "CNY", "GBP", "JPY")


class FxRate(TimestampedVersioned, Base):
    """`units_per_usd` of `currency` on `as_of` (e.g. EUR 0.9605 on 2025-02-28), with where it came from."""

    __tablename__ = "fx_rates"
    __table_args__ = (
        UniqueConstraint("currency", "as_of"),
        CheckConstraint("units_per_usd > 0", name="positive_rate"),
    )

    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    units_per_usd: Mapped[float] = mapped_column(Float, nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
