"""Quality-adjusted prices: price against capability over time, and the cheapest price at equal capability by
month with its decline per year."""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.quality_prices import RatedPrice
from app.services.quality_prices import ThresholdTrend
from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd


def _plain(text: str) -> str:
    """Plotly reads <…> in labels as markup: show names as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def price_capability_chart(prices: Sequence[RatedPrice]) -> Chart:
    years = sorted({p.effective_date.year for p in prices})
    data = []
    for index, year in enumerate(years):
        rows = [p for p in prices if p.effective_date.year == year and p.mean_usd_per_million > 0]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": str(year),
                "x": [p.capability_score for p in rows],
                "y": [p.mean_usd_per_million for p in rows],
                "marker": {"color": color(index), "size": 9},
                "text": [
                    f"{_plain(p.model)} ({p.effective_date.isoformat()}): "
                    f"{usd(p.mean_usd_per_million)} per 1M tokens (mean of input and output), "
                    f"score {p.capability_score:g}"
                    for p in rows
                ],
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    summary = (
        f"{len(prices)} dated prices of models with a capability score, {years[0]}–{years[-1]}: each year's "
        "points sit lower and further right — more capability for less money."
        if prices
        else "No market price carries a capability score yet (add scores on the market prices)."
    )
    fig = figure(
        data,
        layout(
            axis("Capability score (MMLU, %)"),
            axis("$ / 1M tokens (log)", type="log", tickprefix="$"),
        ),
    )
    tbl = table(
        ("Date", "Model", "Score", "$ / 1M (mean)"),
        [
            (p.effective_date.isoformat(), p.model, f"{p.capability_score:g}", usd(p.mean_usd_per_million))
            for p in sorted(prices, key=lambda p: p.effective_date)
        ],
    )
    return Chart("price-capability", "Price against capability, by year", summary, fig, tbl, height_px=420)


def equal_capability_chart(trends: Sequence[ThresholdTrend]) -> Chart:
    data = []
    for index, trend in enumerate(trends):
        if not trend.series:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": color(index), "width": 2},
                "name": f"score ≥ {trend.threshold:g}",
                "x": [point.month.isoformat() for point in trend.series],
                "y": [point.usd_per_million for point in trend.series],
                "text": [_plain(point.model) for point in trend.series],
                "hovertemplate": "%{x|%Y-%m}: %{y:$.3g} (%{text})<extra></extra>",
            }
        )
    parts = [
        f"score ≥ {t.threshold:g}: {t.decline.fitted_factor_per_year:.1f}× cheaper a year "
        f"({usd(t.decline.first.usd_per_million)} in {t.decline.first.month:%b %Y} → "
        f"{usd(t.decline.last.usd_per_million)} in {t.decline.last.month:%b %Y})"
        for t in trends
        if t.decline is not None
    ]
    summary = "; ".join(parts) + "." if parts else "Too few rated prices to draw a trend."
    fig = figure(
        data,
        layout(
            axis("Month", type="date"),
            axis("Cheapest $ / 1M tokens (log)", type="log", tickprefix="$"),
        ),
    )
    tbl = table(
        ("Threshold", "Month", "Cheapest model", "$ / 1M (mean)"),
        [
            (f"≥ {t.threshold:g}", p.month.strftime("%Y-%m"), p.model, usd(p.usd_per_million))
            for t in trends
            for p in t.series
        ],
    )
    return Chart(
        "equal-capability",
        "The cheapest price at equal capability, by month",
        summary,
        fig,
        tbl,
        height_px=420,
    )
