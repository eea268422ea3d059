"""Engine vs published runs: how far the cost engine lands from the numbers in papers and model cards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import number


@dataclass(frozen=True)
class PublishedCheck:
    case: str
    quantity: str
    published: float
    engine: float
    tolerance_fraction: float
    source: str

    @property
    def delta_fraction(self) -> float:
        return (self.engine - self.published) / self.published

    @property
    def within_tolerance(self) -> bool:
        return abs(self.delta_fraction) <= self.tolerance_fraction


def published_runs_chart(checks: Sequence[PublishedCheck]) -> Chart:
    labels = [f"{c.case}: {c.quantity}" for c in checks]
    deltas = [c.delta_fraction for c in checks]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": deltas,
            "name": "engine − published",
            "marker": {"color": [color(2) if c.within_tolerance else color(3) for c in checks]},
            "text": [f"{d * 100:+.1f} %" for d in deltas],
            "textposition": "outside",
            "hovertemplate": "%{y}: %{text}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "x": [c.tolerance_fraction for c in checks],
            "name": "tolerance (±)",
            "marker": {"symbol": "line-ns-open", "size": 18, "color": color(7)},
            "hovertemplate": "tolerance ±%{x:.0%}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "x": [-c.tolerance_fraction for c in checks],
            "showlegend": False,
            "marker": {"symbol": "line-ns-open", "size": 18, "color": color(7)},
            "hovertemplate": "tolerance ±%{x:.0%}<extra></extra>",
        },
    ]
    span = max([abs(d) for d in deltas] + [c.tolerance_fraction for c in checks] + [0.01]) * 1.6
    fig = figure(
        data,
        layout(
            axis("Engine − published (% of published)", tickformat=".0%", range=[-span, span], zeroline=True),
            axis("", type="category", autorange="reversed"),
            height=max(260, 48 * len(checks) + 110),
            margin={"l": 250, "r": 30, "t": 8, "b": 70},
        ),
    )
    inside = sum(c.within_tolerance for c in checks)
    worst = max(checks, key=lambda c: abs(c.delta_fraction)) if checks else None
    summary = f"{inside} of {len(checks)} published figures are reproduced within their stated tolerance" + (
        f"; the largest gap is {worst.delta_fraction * 100:+.1f} % ({worst.case})." if worst else "."
    )
    tbl = table(
        ("Case", "Quantity", "Published", "Engine", "Δ %", "Tolerance", "Source"),
        [
            (
                c.case,
                c.quantity,
                number(c.published),
                number(c.engine),
                f"{c.delta_fraction * 100:+.1f} %",
                f"±{c.tolerance_fraction * 100:.0f} %",
                c.source,
            )
            for c in checks
        ],
    )
    return Chart("published-runs", "Engine vs published training runs", summary, fig, tbl)
