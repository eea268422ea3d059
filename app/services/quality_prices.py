"""Quality-adjusted market prices: the stored market prices that carry a capability score, the cheapest price
at or above a capability threshold by month, and how fast it falls (app/engine/quality_prices.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import MarketPrice
from app.engine.quality_prices import (
    Decline,
    MonthlyCheapest,
    RatedPrice,
    cheapest_by_month,
    decline_per_year,
)

# MMLU 42 is GPT-3's level, the threshold of a16z's "LLMflation" headline (10x a year, Nov 2021 - Nov 2024);
# 83 is GPT-4's, their second series.
DEFAULT_THRESHOLDS = (42.0, 70.0, 83.0)
LLMFLATION_WINDOW = (date(2021, 11, 1), date(2024, 11, 1))


@dataclass(frozen=True)
class ThresholdTrend:
    threshold: float
    series: list[MonthlyCheapest]
    decline: Decline | None


def rated_prices(session: Session) -> list[RatedPrice]:
    query = (
        select(MarketPrice)
        .where(MarketPrice.capability_score.is_not(None))
        .order_by(MarketPrice.effective_date, MarketPrice.id)
    )
    return [
        RatedPrice(
            model=f"{row.provider} {row.model_name}",
            effective_date=row.effective_date,
            input_usd_per_million=row.input_usd_per_million,
            output_usd_per_million=row.output_usd_per_million,
            capability_score=float(row.capability_score or 0.0),
        )
        for row in session.scalars(query)
    ]


def trends(
    session: Session,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    start: date | None = None,
    end: date | None = None,
) -> tuple[list[RatedPrice], list[ThresholdTrend]]:
    prices = rated_prices(session)
    result = []
    for threshold in thresholds:
        series = cheapest_by_month(prices, threshold, start, end)
        result.append(ThresholdTrend(threshold, series, decline_per_year(series, threshold)))
    return prices, result
