"""Strategy-lab charts: the four levers against the baseline, all 16 combinations, and the article's
mixed-precision formula next to the physical model."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd

LEVER_LABELS = {
    "distributed": "Distributed training",
    "transfer": "Transfer learning",
    "quantization": "Quantisation",
    "mixed_precision": "Mixed precision",
}


@dataclass(frozen=True)
class StrategyPoint:
    """A lever combination's outcome (engine LeverStrategy, reduced to what the charts show)."""

    name: str
    levers: frozenset[str]
    training_usd: float
    training_days: float
    serving_usd_per_million: float  # inf: no replica fits within the latency targets
    quality_delta_points: float


def label(point: StrategyPoint) -> str:
    if not point.levers:
        return "baseline"
    return " + ".join(LEVER_LABELS[lever].split()[0].lower() for lever in sorted(point.levers))


def delta_fraction(value: float, base: float) -> float | None:
    if not (math.isfinite(value) and math.isfinite(base)) or base == 0:
        return None
    return (value - base) / base


def fmt_delta(value: float, base: float, money: bool = True, unit: str = "") -> str:
    """'−$88.7M (−50 %)', '−41.2 days (−62 %)' (with unit), or 'n/a' when either side is infinite (a plan
    that does not fit)."""
    d = delta_fraction(value, base)
    if d is None:
        return "n/a"
    diff = value - base
    if diff == 0:
        return "no change"
    shown = usd(diff) if money else f"{diff:+,.1f}{unit}"
    if money and diff > 0:
        shown = "+" + shown
    return f"{shown} ({d * 100:+.0f} %)".replace("-", "−")


def days_text(days: float) -> str:
    """'3.4 days', '284 days', '64,419 days': a decimal only where it carries information."""
    return f"{days:,.1f} days" if days < 100 else f"{days:,.0f} days"


def serving_text(value: float) -> str:
    return usd(value) if math.isfinite(value) else "does not fit"


def lever_delta_chart(baseline: StrategyPoint, singles: Sequence[StrategyPoint]) -> Chart:
    metrics: tuple[tuple[str, Callable[[StrategyPoint], float]], ...] = (
        ("training cost", lambda p: p.training_usd),
        ("training time", lambda p: p.training_days),
        ("serving cost per 1M tokens", lambda p: p.serving_usd_per_million),
    )
    names = [LEVER_LABELS[next(iter(p.levers))].replace(" ", "<br>", 1) for p in singles]
    data = []
    rows = []
    for index, (metric, get) in enumerate(metrics):
        deltas = [delta_fraction(get(p), get(baseline)) for p in singles]
        data.append(
            {
                "type": "bar",
                "name": metric,
                "x": names,
                "y": deltas,
                "marker": {"color": color(index)},
                "text": [f"{d * 100:+.0f} %" if d is not None else "n/a" for d in deltas],
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": "%{x} · " + metric + ": %{text}<extra></extra>",
            }
        )
    for p in singles:
        rows.append(
            (
                LEVER_LABELS[next(iter(p.levers))],
                fmt_delta(p.training_usd, baseline.training_usd),
                fmt_delta(p.training_days, baseline.training_days, money=False) + " days",
                fmt_delta(p.serving_usd_per_million, baseline.serving_usd_per_million),
                f"{p.quality_delta_points:+.1f}",
            )
        )
    fig = figure(
        data,
        layout(
            axis("Lever (one at a time)", type="category"),
            axis("Change against the baseline (%)", tickformat="+.0%", zeroline=True),
            barmode="group",
            margin={"l": 70, "r": 16, "t": 60, "b": 70},
        ),
    )
    best = min(singles, key=lambda p: p.training_usd) if singles else None
    summary = "No lever could be evaluated."
    if best:
        summary = (
            f"Alone, {LEVER_LABELS[next(iter(best.levers))].lower()} cuts training cost the most: "
            f"{usd(baseline.training_usd)} → {usd(best.training_usd)}."
        )
    tbl = table(
        ("Lever", "Δ training cost", "Δ training time", "Δ serving cost / 1M", "Δ quality (points)"), rows
    )
    return Chart("lever-deltas", "The four levers against the baseline", summary, fig, tbl)


def strategy_scatter_chart(points: Sequence[StrategyPoint]) -> Chart:
    shown = [p for p in points if math.isfinite(p.serving_usd_per_million) and p.training_usd > 0]
    frontier = sorted(shown, key=lambda p: (p.training_usd, p.serving_usd_per_million))
    # Only the baseline and the two extremes carry a label: sixteen labels on top of each other help no one.
    named = {id(p) for p in shown if not p.levers}
    if shown:
        named |= {id(frontier[0]), id(min(shown, key=lambda p: p.serving_usd_per_million))}
    data = [
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [p.training_usd for p in shown],
            "y": [p.serving_usd_per_million for p in shown],
            "text": [label(p) if id(p) in named else "" for p in shown],
            "hovertext": [label(p) for p in shown],
            "textposition": "top center",
            "textfont": {"size": 10},
            "marker": {
                "size": [8 + 3 * len(p.levers) for p in shown],
                "color": [color(2) if p.quality_delta_points >= 0 else color(3) for p in shown],
            },
            "customdata": [
                f"{days_text(p.training_days)} · quality {p.quality_delta_points:+.1f} points" for p in shown
            ],
            "hovertemplate": "%{hovertext}<br>training %{x:$,.3s} · serving $%{y:.3f} per 1M"
            "<br>%{customdata}<extra></extra>",
            "name": "strategy",
        }
    ]
    fig = figure(
        data,
        layout(
            axis("One-off training cost (USD, log)", type="log", tickprefix="$"),
            axis("Serving cost ($ per 1M output tokens)", tickprefix="$", rangemode="tozero"),
            showlegend=False,
            height=420,
        ),
    )
    missing = len(points) - len(shown)
    if frontier:
        cheapest_serving = min(shown, key=lambda p: p.serving_usd_per_million)
        summary = (
            f"Of {len(points)} combinations, {label(frontier[0])} trains cheapest "
            f"({usd(frontier[0].training_usd)}) and "
            f"{label(cheapest_serving)} serves cheapest "
            f"({usd(cheapest_serving.serving_usd_per_million)} per 1M)"
            + (f"; {missing} cannot serve within the latency targets and are left out." if missing else ".")
        )
    else:
        summary = "No combination can serve this model within the latency targets on this accelerator."
    tbl = table(
        ("Strategy", "Training cost", "Training days", "Serving $ / 1M", "Quality Δ (points)"),
        [
            (
                label(p),
                usd(p.training_usd),
                f"{p.training_days:,.1f}",
                serving_text(p.serving_usd_per_million),
                f"{p.quality_delta_points:+.1f}",
            )
            for p in points
        ],
    )
    return Chart(
        "strategies",
        "All 16 lever combinations: training cost vs serving cost",
        summary,
        fig,
        tbl,
        height_px=420,
    )


def mixed_precision_chart(
    accelerator: str,
    fractions: Sequence[float],
    physical: Sequence[float],
    article: Sequence[float],
    chosen: float,
    chosen_physical: float,
    chosen_article: float,
) -> Chart:
    """Relative time (1 = everything in fp32) against the half-precision fraction f."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"physical model ({accelerator} peaks)",
            "x": list(fractions),
            "y": list(physical),
            "line": {"color": color(0), "width": 3},
            "hovertemplate": "f = %{x:.0%}: %{y:.3f} × fp32 time<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "article: β16·f + β32·(1−f), β16 = 0.5",
            "x": list(fractions),
            "y": list(article),
            "line": {"color": color(1), "width": 3, "dash": "dash"},
            "hovertemplate": "f = %{x:.0%}: %{y:.3f} × fp32 cost<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"your f = {chosen:.0%}",
            "x": [chosen, chosen],
            "y": [chosen_physical, chosen_article],
            "marker": {"color": color(3), "size": 11, "symbol": "diamond"},
            "hovertemplate": "f = %{x:.0%}: %{y:.3f}<extra></extra>",
        },
    ]
    fig = figure(
        data,
        layout(
            axis("Half-precision fraction of operations f (%)", tickformat=".0%", range=[0, 1]),
            axis("Time or cost relative to all-fp32 (×)", rangemode="tozero"),
        ),
    )
    summary = (
        f"At f = {chosen:.0%} the article's formula gives {chosen_article:.2f}× the fp32 cost, while "
        f"{accelerator}'s real peaks give {chosen_physical:.3f}× the fp32 time "
        f"({1 / chosen_physical:.1f}× faster): the fp32 remainder dominates (Amdahl)."
    )
    tbl = table(
        ("f", "Physical model (× fp32 time)", "Article formula (× fp32 cost)"),
        [(f"{f:.0%}", f"{p:.3f}", f"{a:.3f}") for f, p, a in zip(fractions, physical, article, strict=False)],
    )
    return Chart(
        "mixed-precision", "Mixed precision: the article's formula vs the physical model", summary, fig, tbl
    )
