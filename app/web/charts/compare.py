"""Compare: two to four simulation results side by side, overlaid cash medians and survival curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd


def compare_cash_chart(items: Sequence[tuple[str, Mapping[str, Any]]]) -> Chart:
    """items: (label, strategy result dict with months) per compared column."""
    data = []
    for i, (label, s) in enumerate(items):
        months = list(range(1, len(s["cash_usd"]["p50"]) + 1))
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": months,
                "y": s["cash_usd"]["p50"],
                "line": {
                    "color": color(i),
                    "width": 3 if i == 0 else 2,
                    "dash": "solid" if i == 0 else "dash",
                },
                "hovertemplate": "month %{x}: %{y:$,.3s}<extra>" + label + "</extra>",
            }
        )
    fig = figure(
        data,
        layout(
            axis("Month"),
            axis("Median cash (USD)", money=True),
            shapes=[
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": 0,
                    "y1": 0,
                    "line": {"color": "theme", "width": 1},
                }
            ],
        ),
    )
    ends = [(label, s["cash_usd"]["p50"][-1]) for label, s in items]
    best = max(ends, key=lambda e: e[1] if e[1] is not None else float("-inf"))
    summary = f"{best[0]} ends with the most median cash ({usd(best[1])}); the first column is the baseline."
    horizon = max(len(s["cash_usd"]["p50"]) for _, s in items)
    rows = [
        (
            str(m),
            *[usd(s["cash_usd"]["p50"][m - 1]) if m <= len(s["cash_usd"]["p50"]) else "—" for _, s in items],
        )
        for m in range(1, horizon + 1)
    ]
    return Chart(
        "compare-cash",
        "Median cash over time (USD)",
        summary,
        fig,
        table(("Month", *[name for name, _ in items]), rows),
    )


def compare_survival_chart(items: Sequence[tuple[str, Mapping[str, Any]]]) -> Chart:
    data = []
    for i, (label, s) in enumerate(items):
        curve = s["survival_curve"]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": list(range(0, len(curve) + 1)),
                "y": [1.0, *curve],
                "line": {"shape": "hv", "color": color(i), "width": 3 if i == 0 else 2},
                "hovertemplate": "month %{x}: %{y:.0%}<extra>" + label + "</extra>",
            }
        )
    fig = figure(data, layout(axis("Month"), axis("Paths still solvent (%)", percent=True, range=[0, 1.05])))
    ranked = sorted(items, key=lambda it: -it[1]["survival_probability"])
    summary = (
        f"{ranked[0][0]} survives on {ranked[0][1]['survival_probability'] * 100:.0f} % of paths, "
        f"{ranked[-1][0]} on {ranked[-1][1]['survival_probability'] * 100:.0f} %."
    )
    horizon = max(len(s["survival_curve"]) for _, s in items)
    rows = [
        (
            str(m),
            *[
                f"{s['survival_curve'][m - 1] * 100:.0f} %" if m <= len(s["survival_curve"]) else "—"
                for _, s in items
            ],
        )
        for m in range(1, horizon + 1)
    ]
    return Chart(
        "compare-survival",
        "Survival curves (share of paths with cash ≥ 0)",
        summary,
        fig,
        table(("Month", *[name for name, _ in items]), rows),
    )
