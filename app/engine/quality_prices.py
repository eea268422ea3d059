"""Prices at equal capability: how fast the cheapest price of a given capability falls.

The method of a16z's "LLMflation" analysis (Appenzeller, 12 November 2024): for each month, the cheapest
model whose benchmark score is at least a threshold (MMLU ≥ 42: GPT-3's level), its price per 1M tokens
being the mean of the input and output prices; then the decline per year of that cheapest price, from a
least-squares fit of log10(price) on time (and, beside it, from the first and last months alone).

A model's dated price holds from its date until its next dated price (the data has no withdrawal dates, so an
old model stays available: harmless for a minimum). Free prices (0) are left out: a logarithm needs a price.
Pure: no database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class RatedPrice:
    model: str  # "provider model"
    effective_date: date
    input_usd_per_million: float
    output_usd_per_million: float
    capability_score: float

    @property
    def mean_usd_per_million(self) -> float:
        return (self.input_usd_per_million + self.output_usd_per_million) / 2.0


@dataclass(frozen=True)
class MonthlyCheapest:
    month: date  # first day of the month
    usd_per_million: float
    model: str
    capability_score: float


@dataclass(frozen=True)
class Decline:
    threshold: float
    first: MonthlyCheapest
    last: MonthlyCheapest
    months: int
    fitted_factor_per_year: float  # 10 = the price at equal capability falls 10x a year
    endpoint_factor_per_year: float
    total_factor: float


def month_starts(first: date, last: date) -> list[date]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def cheapest_by_month(
    prices: Iterable[RatedPrice], threshold: float, start: date | None = None, end: date | None = None
) -> list[MonthlyCheapest]:
    """The cheapest priced model with a score ≥ threshold in each month it exists (a price dated any day of a
    month counts for that month)."""
    by_model: dict[str, list[RatedPrice]] = defaultdict(list)
    for price in prices:
        if price.capability_score >= threshold and price.mean_usd_per_million > 0:
            by_model[price.model].append(price)
    if not by_model:
        return []
    for rows in by_model.values():
        rows.sort(key=lambda p: p.effective_date)
    first_date = min(rows[0].effective_date for rows in by_model.values())
    last_date = max(rows[-1].effective_date for rows in by_model.values())
    months = month_starts(max(first_date, start) if start else first_date, end or last_date)
    result = []
    for month in months:
        next_month = date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)
        best: RatedPrice | None = None
        for rows in by_model.values():
            current = None
            for row in rows:
                if row.effective_date < next_month:
                    current = row  # the latest price dated before the next month
                else:
                    break
            if current is not None and (
                best is None or current.mean_usd_per_million < best.mean_usd_per_million
            ):
                best = current
        if best is not None:
            result.append(
                MonthlyCheapest(month, best.mean_usd_per_million, best.model, best.capability_score)
            )
    return result


def decline_per_year(series: Sequence[MonthlyCheapest], threshold: float) -> Decline | None:
    """Fit log10(price) = a + b·years; the factor per year is 10^(−b). None with fewer than two months."""
    if len(series) < 2:
        return None
    origin = series[0].month
    years = [(point.month - origin).days / DAYS_PER_YEAR for point in series]
    logs = [math.log10(point.usd_per_million) for point in series]
    mean_x, mean_y = sum(years) / len(years), sum(logs) / len(logs)
    sxx = sum((x - mean_x) ** 2 for x in years)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(years, logs, strict=True)) / sxx
    span_years = years[-1]
    total = series[0].usd_per_million / series[-1].usd_per_million
    return Decline(
        threshold=threshold,
        first=series[0],
        last=series[-1],
        months=len(series),
        fitted_factor_per_year=10 ** (-slope),
        endpoint_factor_per_year=total ** (1 / span_years),
        total_factor=total,
    )
