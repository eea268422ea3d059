"""Charts of the Models page: training cost by accelerator, training memory by part, serving cost heatmap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import number, usd


@dataclass(frozen=True)
class TrainingRow:
    accelerator: str
    usd_per_gpu_hour: float
    gpu_count: int
    gpu_hours: float
    wall_clock_days: float
    cost_usd: float | None
    energy_kwh: float | None
    fits_in_memory: bool
    minimum_gpu_count: int | None


def training_cost_chart(model_name: str, rows: Sequence[TrainingRow]) -> Chart:
    rows = sorted(rows, key=lambda r: (not r.fits_in_memory, r.cost_usd or math.inf))
    shown = [r for r in rows if r.cost_usd is not None]
    names = [r.accelerator for r in shown]

    def bars(fits: bool) -> dict[str, Any]:
        part = [r for r in shown if r.fits_in_memory == fits]
        return {
            "type": "bar",
            "x": [r.accelerator for r in part],
            "y": [r.cost_usd for r in part],
            "name": "fits in memory" if fits else "does not fit at this layout (needs more GPUs)",
            "marker": {"color": color(0) if fits else color(7)},
            "text": [
                f"{usd(r.cost_usd)} · {r.wall_clock_days:.1f} days on {r.gpu_count:,} GPUs"
                + ("" if r.fits_in_memory else " · does not fit")
                for r in part
            ],
            "hovertemplate": "%{x}: %{text}<extra></extra>",
            "textposition": "none",
        }

    data = [bars(True)] + ([bars(False)] if any(not r.fits_in_memory for r in shown) else [])
    fig = figure(
        data,
        layout(
            axis(
                "Accelerator (cheapest on-demand price)",
                type="category",
                tickangle=-35,
                categoryorder="array",
                categoryarray=names,
            ),
            axis("Training cost (USD)", money=True),
            showlegend=True,
            legend={"orientation": "h", "y": -0.45, "yanchor": "top", "x": 0},
            margin={"l": 70, "r": 16, "t": 8, "b": 130},
        ),
    )
    fitting = [r for r in shown if r.fits_in_memory]
    if fitting:
        best = fitting[0]
        summary = (
            f"Pre-training {model_name} is cheapest on {best.accelerator}: {usd(best.cost_usd)} "
            f"({number(best.gpu_hours)} GPU-hours, {best.wall_clock_days:.1f} days "
            f"on {best.gpu_count:,} GPUs at "
            f"{usd(best.usd_per_gpu_hour)} per GPU-hour)."
        )
    else:
        summary = f"No priced accelerator holds {model_name}'s training state at this GPU count; add GPUs."
    tbl = table(
        (
            "Accelerator",
            "$ / GPU-hour",
            "GPUs",
            "GPU-hours",
            "Days",
            "Cost",
            "Energy (MWh)",
            "Fits in memory",
        ),
        [
            (
                r.accelerator,
                usd(r.usd_per_gpu_hour),
                f"{r.gpu_count:,}",
                number(r.gpu_hours),
                f"{r.wall_clock_days:.1f}",
                usd(r.cost_usd),
                number(r.energy_kwh / 1000) if r.energy_kwh is not None else "—",
                fits_text(r),
            )
            for r in rows
        ],
    )
    return Chart("training-cost", f"Training cost of {model_name} by accelerator", summary, fig, tbl)


def fits_text(r: TrainingRow) -> str:
    """The table's "fits in memory" cell: yes, or what it would take."""
    if r.fits_in_memory:
        return "yes"
    if r.minimum_gpu_count:
        return f"no (needs ≥ {r.minimum_gpu_count:,} GPUs)"
    return "no (one micro-batch's activations overflow a GPU: more tensor parallelism or recomputation)"


def training_memory_chart(accelerator: str, parts_gb: dict[str, float], available_gb: float) -> Chart:
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": label,
            "y": ["per GPU"],
            "x": [value],
            "marker": {"color": color(i)},
            "hovertemplate": f"{label}: %{{x:.1f}} GB<extra></extra>",
        }
        for i, (label, value) in enumerate(parts_gb.items())
    ]
    total = sum(parts_gb.values())
    fig = figure(
        data,
        layout(
            axis("Memory per GPU (GB)", rangemode="tozero"),
            axis("", showticklabels=False),
            barmode="stack",
            height=220,
            margin={"l": 20, "r": 16, "t": 36, "b": 50},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            shapes=[
                {
                    "type": "line",
                    "x0": available_gb,
                    "x1": available_gb,
                    "y0": -0.5,
                    "y1": 0.5,
                    "line": {"color": "theme", "dash": "dash", "width": 2},
                }
            ],
            annotations=[
                {
                    "x": available_gb,
                    "y": 0.5,
                    "text": f"usable {available_gb:.0f} GB",
                    "showarrow": False,
                    "yanchor": "bottom",
                }
            ],
        ),
    )
    verdict = "fits" if total <= available_gb else "does not fit"
    largest = max(parts_gb, key=lambda k: parts_gb[k]) if parts_gb else "—"
    summary = (
        f"Each {accelerator} holds {total:.1f} GB of training state against {available_gb:.0f} GB usable, "
        f"so the plan {verdict}; {largest} is the largest part."
    )
    tbl = table(
        ("Part", "GB per GPU"),
        [(k, f"{v:.2f}") for k, v in parts_gb.items()]
        + [("total", f"{total:.2f}"), ("usable", f"{available_gb:.2f}")],
    )
    return Chart(
        "training-memory",
        f"Training memory per GPU on {accelerator}, by part",
        summary,
        fig,
        tbl,
        height_px=220,
    )


def decade_label(exponent: int, symbol: str = "$") -> str:
    """$0.01, $0.1, $1, $10, $100, $1k, $10k: colour-bar ticks of a log10 money scale (€1k in EUR)."""
    if exponent < 0:
        return f"{symbol}{10.0**exponent:.{-exponent}f}"
    if exponent < 3:
        return f"{symbol}{10**exponent}"
    return f"{symbol}{10 ** (exponent - 3)}k" if exponent < 6 else f"{symbol}{10 ** (exponent - 6)}M"


def serving_heatmap(
    model_name: str,
    unit_label: str,
    accelerators: Sequence[str],
    quantizations: Sequence[str],
    costs: dict[tuple[str, str], float],
    details: dict[tuple[str, str], str],
) -> Chart:
    """Accelerator × precision: the cheapest feasible plan's cost per 1M output tokens (or 1,000 units).

    Colour is log10 of the cost in the display currency (costs span orders of magnitude), so the colour bar's
    decades ($1, $10 … or €1, €10 …) and the cells read in the same currency; the cheapest cell carries a
    star. Missing cells (plan infeasible or precision unsupported) stay empty and say why."""
    from app.web.currency import current_money  # the request's display currency (USD outside pages)

    money = current_money()
    local = {k: v * money.per_usd for k, v in costs.items()}  # colours; `usd` converts the text itself
    z, text = [], []
    for acc in accelerators:
        z.append([math.log10(local[(acc, q)]) if (acc, q) in local else None for q in quantizations])
        text.append([usd(costs[(acc, q)]) if (acc, q) in costs else "n/a" for q in quantizations])
    cheapest = min(costs, key=lambda k: costs[k]) if costs else None
    if cheapest:  # the star sits in the cell's own text so it never covers a neighbour
        row, col = list(accelerators).index(cheapest[0]), list(quantizations).index(cheapest[1])
        text[row][col] = "★ " + text[row][col]
    finite = [v for v in local.values() if v > 0]
    lo, hi = (math.floor(math.log10(min(finite))), math.ceil(math.log10(max(finite)))) if finite else (0, 1)
    ticks = list(range(lo, hi + 1))
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": list(quantizations),
            "y": list(accelerators),
            "z": z,
            "text": text,
            "texttemplate": "%{text}",
            "colorscale": "Cividis",
            "reversescale": True,
            "zmin": lo,
            "zmax": hi,
            "hoverongaps": False,
            "xgap": 2,
            "ygap": 2,
            "customdata": [
                [details.get((a, q), "no feasible plan") for q in quantizations] for a in accelerators
            ],
            "hovertemplate": "%{y} · %{x}: %{text} " + unit_label + "<br>%{customdata}<extra></extra>",
            "colorbar": {
                "title": {"text": f"{money.code} {unit_label}", "side": "right"},
                "tickvals": ticks,
                "ticktext": [decade_label(t, money.symbol) for t in ticks],
            },
        }
    ]
    fig = figure(
        data,
        layout(
            axis("Serving precision (weights / activations / KV cache)", type="category", side="top"),
            axis("Accelerator", type="category", autorange="reversed"),
            height=max(360, 34 * len(accelerators) + 140),
            margin={"l": 150, "r": 16, "t": 70, "b": 16},
        ),
    )
    gaps = (
        " “n/a”: the part has no such precision, or no plan (1–8 GPUs, any batch) meets the latency targets."
    )
    if cheapest:
        summary = (
            f"The cheapest way to serve {model_name} (★) is {cheapest[0]} at {cheapest[1]}: "
            f"{usd(costs[cheapest])} {unit_label} ({details.get(cheapest, '')})."
            + (gaps if any("n/a" in t for row in text for t in row) else "")
        )
    else:
        summary = f"No accelerator on the sheet can serve {model_name} within the latency targets."
    rows = [(a, *row) for a, row in zip(accelerators, text, strict=True)]
    tbl = table(("Accelerator", *quantizations), rows)
    return Chart(
        "serving-heatmap", f"Serving cost of {model_name}: accelerator × precision", summary, fig, tbl
    )
