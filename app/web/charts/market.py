"""The market side: API list prices over time (launches, cuts, increases) per provider."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd

TOP_PROVIDERS = 7  # the eighth colour is "other providers" (Okabe–Ito has eight)
SYMBOLS = {
    "launch": "circle",
    "cut": "triangle-down",
    "increase": "triangle-up",
    "snapshot": "square",
    "change": "diamond",
}


@dataclass(frozen=True)
class PricePoint:
    provider: str
    model_name: str
    effective_date: date
    event_type: str
    input_usd_per_million: float
    output_usd_per_million: float


def market_prices_chart(points: Sequence[PricePoint], total: int | None = None) -> Chart:
    """`points` in date order; `total` the number of prices stored when `points` are only the latest."""
    counts = Counter(p.provider for p in points)
    top = [name for name, _ in counts.most_common(TOP_PROVIDERS)]
    groups: dict[str, list[PricePoint]] = {name: [] for name in [*top, "other providers"]}
    for p in points:
        groups[p.provider if p.provider in groups else "other providers"].append(p)
    data = []
    for index, (name, rows) in enumerate(groups.items()):
        if not rows:
            continue
        rows = sorted(rows, key=lambda r: r.effective_date)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": [r.effective_date.isoformat() for r in rows],
                "y": [r.output_usd_per_million for r in rows],
                "marker": {
                    "color": color(index),
                    "size": 9,
                    "symbol": [SYMBOLS.get(r.event_type, "circle") for r in rows],
                    "line": {"width": 0.5, "color": "rgba(0,0,0,0.35)"},
                },
                "text": [
                    f"{r.provider} {r.model_name} ({r.event_type}): {usd(r.output_usd_per_million)} out / "
                    f"{usd(r.input_usd_per_million)} in per 1M tokens"
                    for r in rows
                ],
                "hovertemplate": "%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
            }
        )
    fig = figure(
        data,
        layout(
            axis("Effective date", type="date"),
            axis("$ per 1M output tokens (log)", type="log", tickprefix="$", dtick=1),
            margin={"l": 70, "r": 16, "t": 8, "b": 90},
        ),
    )
    if points:
        first = min(points, key=lambda p: (p.effective_date, -p.output_usd_per_million))
        recent_year = max(q.effective_date.year for q in points) - 1  # once, not once per point
        cheapest_recent = min(
            (p for p in points if p.effective_date.year >= recent_year and p.output_usd_per_million > 0),
            key=lambda p: p.output_usd_per_million,
            default=None,
        )
        shown = f"{len(points)} dated list prices"
        if total is not None and total > len(points):
            shown = f"The latest {len(points)} of {total:,} dated list prices"
        summary = (
            f"{shown} from {first.effective_date.isoformat()} "
            f"({first.provider} {first.model_name}, {usd(first.output_usd_per_million)} per 1M output tokens)"
        )
        if cheapest_recent:
            summary += (
                f" to today's floor of {usd(cheapest_recent.output_usd_per_million)} "
                f"({cheapest_recent.provider} {cheapest_recent.model_name})"
            )
        summary += "; triangles mark cuts (▼) and increases (▲)."
    else:
        summary = "No market prices are loaded yet."
    tbl = table(
        ("Date", "Provider", "Model", "Event", "$ / 1M input", "$ / 1M output"),
        [
            (
                p.effective_date.isoformat(),
                p.provider,
                p.model_name,
                p.event_type,
                usd(p.input_usd_per_million),
                usd(p.output_usd_per_million),
            )
            for p in sorted(points, key=lambda p: p.effective_date)
        ],
    )
    return Chart("market-prices", "API list prices over time, by provider", summary, fig, tbl, height_px=420)
