"""The 2024 backtest: each rival's simulated list price (median and 5-95 % band) beside its listed prices."""

from __future__ import annotations

from typing import Any

from app.web.charts.base import Chart, axis, color, figure, layout, rgba, table
from app.web.formatting import usd


def backtest_chart(data: dict[str, Any]) -> Chart:
    months = data["months"]
    traces: list[dict[str, Any]] = []
    for k, (name, band) in enumerate(data["rival_bands"].items()):
        c = color(k)
        traces.append(
            {
                "type": "scatter",
                "x": months + months[::-1],
                "y": band["p95"] + band["p5"][::-1],
                "fill": "toself",
                "fillcolor": rgba(c, 0.12),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": name,
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": months,
                "y": band["p50"],
                "name": f"{name} (simulated median)",
                "line": {"color": c},
                "legendgroup": name,
                "hovertemplate": f"{name}<br>month %{{x}}: $%{{y:.3f}} simulated<extra></extra>",
            }
        )
        points = [o for o in data["comparisons"] if o["rival"] == name]
        if points:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [o["month"] for o in points],
                    "y": [o["price_usd_per_million_tokens"] for o in points],
                    "name": f"{name} (listed)",
                    "marker": {
                        "color": c,
                        "symbol": "diamond",
                        "size": 11,
                        "line": {"width": 1, "color": "#000"},
                    },
                    "legendgroup": name,
                    "text": [o["label"] for o in points],
                    "hovertemplate": "%{text}: $%{y:.4f} listed<extra></extra>",
                }
            )
    fig = figure(
        traces,
        layout(
            axis("Month (1 = May 2024)", dtick=3),
            axis("Output list price ($ per 1M tokens)", rangemode="tozero", tickprefix="$"),
            height=420,
        ),
    )
    inside = sum(o["inside_band"] for o in data["comparisons"])
    error = data["median_abs_log_error"]
    summary = (
        f"{inside} of {len(data['comparisons'])} dated list prices in the database fall inside the simulated "
        "5-95 % band of the China preset"
        + (f"; median |ln(simulated / listed)| = {error:.2f}" if error is not None else "")
        + ". No volumes are compared: none were published for the episode beyond Doubao's own statements."
    )
    rows = [
        (
            o["rival"],
            o["label"],
            str(o["month"]),
            usd(o["price_usd_per_million_tokens"], 4),
            usd(o["simulated_p50"], 4),
            f"{usd(o['simulated_p5'], 4)} - {usd(o['simulated_p95'], 4)}",
            "yes" if o["inside_band"] else "no",
        )
        for o in sorted(data["comparisons"], key=lambda o: (o["rival"], o["month"]))
    ]
    tbl = table(
        ("Rival", "Listed", "Month", "Listed $", "Simulated median", "Simulated 5-95 %", "Inside"), rows
    )
    return Chart(
        "backtest-2024",
        "China preset against the 2024 list prices",
        summary,
        fig,
        tbl,
        height_px=420,
        wide=True,
    )
