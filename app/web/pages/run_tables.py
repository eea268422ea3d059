"""The tables a stored run's page shows, each cell kept twice: the number (for CSV/JSON) and its text (for
the screen), so an export holds exactly what is on screen, with machine-readable numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.reports.money import USD, Money
from app.services import csv_export
from app.web.charts.pricewar import strategy_of
from app.web.formatting import usd


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the screen header
    unit: str  # appended to the CSV header: "cash_usd_p50" style keys already carry the unit


@dataclass(frozen=True)
class ShownTable:
    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[tuple[Any, str], ...], ...]  # (raw value, shown text) per cell

    def shown_rows(self) -> list[list[str]]:
        return [[shown for _, shown in row] for row in self.rows]

    def money_columns(self) -> dict[int, int]:
        """The columns holding USD amounts, with the decimals they keep: prices per 1M tokens 6, amounts 2."""
        return {
            i: (6 if "per 1M" in c.unit else 2)
            for i, c in enumerate(self.columns)
            if c.unit.startswith("USD")
        }

    def to_csv(self, money: Money = USD) -> str:
        """The table in `money`'s currency (the page's ?currency=): amounts converted at its dated rate, the
        money columns' keys renamed (cash_usd_p50 → cash_eur_p50)."""
        header = [c.key for c in self.columns]
        rows = ([raw for raw, _ in row] for row in self.rows)
        return csv_export.to_csv(header, rows, money=money, money_columns=self.money_columns())

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "columns": [{"key": c.key, "label": c.label, "unit": c.unit} for c in self.columns],
            "rows": [
                {c.key: raw for c, (raw, _) in zip(self.columns, row, strict=True)} for row in self.rows
            ],
        }


def _pct(v: float | None) -> tuple[Any, str]:
    return (None, "—") if v is None else (round(v, 6), f"{v * 100:.0f} %")


def _share(v: float | None) -> tuple[Any, str]:
    """Shares are often below 1 %: one decimal, so 0.4 % does not read "0 %"."""
    return (None, "—") if v is None else (round(v, 6), f"{v * 100:.1f} %")


def _usd(v: float | None) -> tuple[Any, str]:
    return (None, "—") if v is None else (round(v, 2), usd(v))


def _price(v: float | None) -> tuple[Any, str]:
    return (None, "—") if v is None else (round(v, 6), usd(v))


def _int(v: int | None, empty: str = "—") -> tuple[Any, str]:
    return (None, empty) if v is None else (v, str(v))


def summary_table(result: Mapping[str, Any]) -> ShownTable:
    columns = (
        Column("strategy", "Strategy", ""),
        Column("survival_probability_fraction", "P(survive to horizon)", "fraction"),
        Column("death_month", "Cash runs out (median month over paths)", "month"),
        Column("runway_months", "Runway at today's burn (months)", "months"),
        Column("breakeven_month", "Break-even month", "month"),
        Column("cash_at_horizon_p50_usd", "Median cash at horizon", "USD"),
        Column("unit_cost_usd_per_million_tokens", "Unit cost ($ / 1M)", "USD per 1M tokens"),
        Column("price_floor_usd_per_million_tokens", "Price floor ($ / 1M)", "USD per 1M tokens"),
        Column("one_off_training_usd", "One-off training", "USD"),
    )
    rows = []
    for s in result["strategies"]:
        runway = s["runway_months"]
        rows.append(
            (
                (s["name"], s["name"]),
                _pct(s["survival_probability"]),
                _int(s["death_month"]),
                (None, "no burn") if runway is None else (round(runway, 2), f"{runway:.1f}"),
                _int(s["breakeven_month"]),
                _usd(s["cash_at_horizon_p50_usd"]),
                _price(s["unit_cost_usd_per_million_tokens"]),
                _price(s["price_floor_usd_per_million_tokens"]),
                _usd(s["one_off_training_usd"]),
            )
        )
    return ShownTable("summary", columns, tuple(rows))


def monthly_table(result: Mapping[str, Any], strategy: str | None) -> ShownTable:
    s = strategy_of(result, strategy)
    columns = (
        Column("month", "Month", "month"),
        Column("price_usd_per_million_tokens_p50", "Our price (median)", "USD per 1M tokens"),
        Column("price_floor_usd_per_million_tokens_p50", "Our floor (median)", "USD per 1M tokens"),
        Column("share_fraction_p50", "Our share (median)", "fraction"),
        Column("revenue_usd_per_month_p50", "Revenue (median)", "USD per month"),
        Column("cash_usd_p5", "Cash p5", "USD"),
        Column("cash_usd_p50", "Cash p50", "USD"),
        Column("cash_usd_p95", "Cash p95", "USD"),
        Column("survival_fraction", "Solvent paths", "fraction"),
    )
    # Runs stored before the floor was reported by month carry the month-1 figure only (flat, as drawn then).
    by_month = s.get("price_floor_usd_per_million_tokens_by_month")
    floor = by_month["p50"] if by_month else [s["price_floor_usd_per_million_tokens"]] * len(result["months"])
    rows = []
    for t, month in enumerate(result["months"]):
        rows.append(
            (
                (month, str(month)),
                _price(s["price_usd_per_million_tokens"]["p50"][t]),
                _price(floor[t]),
                _share(s["share_fraction"]["p50"][t]),
                _usd(s["revenue_usd_per_month"]["p50"][t]),
                _usd(s["cash_usd"]["p5"][t]),
                _usd(s["cash_usd"]["p50"][t]),
                _usd(s["cash_usd"]["p95"][t]),
                _pct(s["survival_curve"][t]),
            )
        )
    return ShownTable("monthly", columns, tuple(rows))


def tables_for(result: Mapping[str, Any], strategy: str | None) -> Sequence[ShownTable]:
    return (summary_table(result), monthly_table(result, strategy))
