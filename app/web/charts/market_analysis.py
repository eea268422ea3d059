"""The explorer's analysis panels: our profit against our price, where prices settle if everyone prices
rationally (beside the simulated war), and what flips the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd

INPUT_LABELS: dict[str, str] = {
    "firm.cost_decline_per_year": "our unit-cost decline (x a year)",
    "firm.unit_cost_multiplier": "GPU price / unit-cost multiplier",
    "firm.starting_cash_usd": "starting cash ($)",
    "firm.fixed_costs_usd_per_month": "fixed costs ($ a month)",
    "market.market_elasticity": "total-market elasticity",
    "market.switching_elasticity": "switching elasticity",
    "market.demand_growth_per_year_fraction": "demand growth (a year)",
    "market.price_decline_per_year": "market price decline (x a year)",
    "market.volume_million_tokens_per_month": "market volume (M tokens a month)",
}


def input_label(name: str, rival_names: list[str]) -> str:
    if name in INPUT_LABELS:
        return INPUT_LABELS[name]
    if name.startswith("rivals["):
        index = int(name[7 : name.index("]")])
        who = rival_names[index] if index < len(rival_names) else name
        rest = name[name.index("]") + 2 :]
        rest = (
            rest.replace("unit_cost_usd_per_million_tokens", "unit cost ($/1M)")
            .replace("cuts[0].", "cut ")
            .replace("cut_fraction", "size")
        )
        return f"{who}: {rest}"
    return name


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e4:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def profit_curve_chart(curves: dict[str, Any]) -> Chart:
    traces: list[dict[str, Any]] = []
    rows = []
    for k, key in enumerate(("month_1", "horizon")):
        c = curves[key]
        name = f"month {c['month']}"
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": c["prices_usd_per_million_tokens"],
                "y": c["gross_profit_usd_per_month"],
                "name": f"{name}: gross profit",
                "line": {"color": color(k)},
                "hovertemplate": f"{name}: $%{{x:.3f}} / 1M → %{{y:$,.0f}} a month<extra></extra>",
            }
        )
        best = c["profit_max_price_usd_per_million_tokens"]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [best],
                "y": [max(c["gross_profit_usd_per_month"])],
                "name": f"{name}: profit-maximising price",
                "marker": {"color": color(k), "symbol": "star", "size": 13},
                "hovertemplate": f"{name} best: $%{{x:.3f}}<extra></extra>",
            }
        )
        rows.append(
            (
                name,
                usd(best, 3),
                "—"
                if c["simulated_price_usd_per_million_tokens"] is None
                else usd(c["simulated_price_usd_per_million_tokens"], 3),
                usd(c["unit_cost_usd_per_million_tokens"], 3),
                usd(max(c["gross_profit_usd_per_month"])),
            )
        )
    fig = figure(
        traces,
        layout(
            axis("Our price ($ per 1M output tokens)", tickprefix="$"),
            axis("Gross profit ($ a month)", money=True),
            height=360,
        ),
    )
    first = curves["month_1"]["profit_max_price_usd_per_million_tokens"]
    last = curves["horizon"]["profit_max_price_usd_per_million_tokens"]
    summary = (
        f"Against the rivals' median prices, our gross profit peaks at {usd(first)} "
        f"per 1M tokens in month 1 and {usd(last)} at the "
        f"horizon (long-run demand, same model as the simulation)."
    )
    tbl = table(
        ("Month", "Profit-maximising price", "Our simulated median", "Our unit cost", "Peak gross profit"),
        rows,
    )
    return Chart("profit-curve", "Our profit against our price", summary, fig, tbl)


def equilibrium_chart(eq: Mapping[str, Any], strategy_result: Mapping[str, Any]) -> Chart:
    names = [f["name"] for f in eq["firms"]]
    horizon = eq["at_horizon"]
    t_last = horizon["month"] - 1
    simulated_1 = [strategy_result["price_usd_per_million_tokens"]["p50"][0]] + [
        b["p50"][0] for b in strategy_result["rival_price_usd_per_million_tokens"]
    ]
    simulated_h = [strategy_result["price_usd_per_million_tokens"]["p50"][t_last]] + [
        b["p50"][t_last] for b in strategy_result["rival_price_usd_per_million_tokens"]
    ]
    traces = [
        {
            "type": "bar",
            "x": names,
            "y": [f["price_usd_per_million_tokens"] for f in eq["firms"]],
            "name": "equilibrium, month 1",
            "marker": {"color": color(0)},
            "hovertemplate": "%{x}: $%{y:.3f} at equilibrium (month 1)<extra></extra>",
        },
        {
            "type": "bar",
            "x": names,
            "y": [f["price_usd_per_million_tokens"] for f in horizon["firms"]],
            "name": f"equilibrium, month {horizon['month']}",
            "marker": {"color": color(1)},
            "hovertemplate": "%{x}: $%{y:.3f} at equilibrium (horizon)<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": names,
            "y": simulated_1,
            "name": "the war, month 1 (median)",
            "marker": {"color": color(3), "symbol": "diamond", "size": 10},
            "hovertemplate": "%{x}: $%{y:.3f} simulated (month 1)<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": names,
            "y": simulated_h,
            "name": f"the war, month {horizon['month']} (median)",
            "marker": {"color": color(4), "symbol": "x", "size": 10},
            "hovertemplate": "%{x}: $%{y:.3f} simulated (horizon)<extra></extra>",
        },
    ]
    fig = figure(
        traces,
        layout(
            axis("", type="category"),
            axis("Price ($ per 1M output tokens)", rangemode="tozero", tickprefix="$"),
            barmode="group",
            height=380,
        ),
    )
    ours = eq["firms"][0]
    state = "converged" if eq["converged"] else "not converged"
    summary = (
        f"Where prices settle if everyone prices rationally (logit-Bertrand Nash prices, "
        f"{state} in {eq['iterations']} steps): we would charge "
        f"{usd(ours['price_usd_per_million_tokens'])} for a {ours['share_fraction'] * 100:.1f} % share at a "
        f"{ours['margin_fraction'] * 100:.0f} % margin in month 1; the diamonds are the war as simulated."
    )
    rows = [
        (
            f["name"],
            usd(f["price_usd_per_million_tokens"], 3),
            f"{f['share_fraction'] * 100:.1f} %",
            f"{f['margin_fraction'] * 100:.0f} %",
            usd(f["unit_cost_usd_per_million_tokens"], 3),
            "—" if s is None else usd(s, 3),
        )
        for f, s in zip(eq["firms"], simulated_1, strict=True)
    ]
    tbl = table(
        ("Firm", "Equilibrium price", "Share", "Margin", "Unit cost", "Simulated median, month 1"), rows
    )
    return Chart("equilibrium", "Where prices settle if everyone prices rationally", summary, fig, tbl)


def flip_sentences(flips: dict[str, Any], rival_names: list[str], count: int = 3) -> list[str]:
    """'survival falls below 50 % if total-market elasticity is above -0.35 (now -0.7)', closest first; when
    survival is already below the level, the way back up: 'survival rises above 50 % if ... is below ...'."""
    by_name = {f["input"]: f for f in flips["flips"]}
    level = flips["level_fraction"] * 100
    above = flips["survival_probability"] >= flips["level_fraction"]
    out = []
    for name in flips["closest"][:count]:
        f = by_name[name]
        side = f["falls_below_when"] if above else {"above": "below", "below": "above"}[f["falls_below_when"]]
        verb = "falls below" if above else "rises above"
        out.append(
            f"survival {verb} {level:.0f} % if {input_label(name, rival_names)} is "
            f"{side} {_number(f['threshold'])} (now {_number(f['now'])})"
        )
    return out


def flips_chart(flips: dict[str, Any], rival_names: list[str]) -> Chart:
    """Every input's P(survive) at the two ends of its range (the other inputs uncertain, same draws), against
    the 50 % line: an input whose two ends straddle the line flips the answer somewhere in between."""
    never = [f for f in flips["flips"] if f["threshold"] is None]
    crossing = [f for f in flips["flips"] if f["threshold"] is not None]
    swing = sorted(never, key=lambda f: -abs(f["survival_at_high"] - f["survival_at_low"]))
    shown = (crossing + swing)[:14]  # closest thresholds first, then the widest swings of the rest
    labels = [input_label(f["input"], rival_names) for f in shown]
    level = flips["level_fraction"]
    traces = [
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "x": [f["survival_at_low"] for f in shown],
            "name": "input at the low end of its range",
            "marker": {"color": color(0), "size": 10, "symbol": "triangle-left"},
            "text": [_number(f["low"]) for f in shown],
            "hovertemplate": "%{y} = %{text}: P(survive) %{x:.0%}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "x": [f["survival_at_high"] for f in shown],
            "name": "input at the high end",
            "marker": {"color": color(1), "size": 10, "symbol": "triangle-right"},
            "text": [_number(f["high"]) for f in shown],
            "hovertemplate": "%{y} = %{text}: P(survive) %{x:.0%}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": [level, level],
            "y": [labels[0], labels[-1]] if labels else [],
            "name": f"{level * 100:.0f} %: the answer flips",
            "line": {"color": color(3), "dash": "dash"},
            "hoverinfo": "skip",
        },
    ]
    fig = figure(
        traces,
        layout(
            axis("P(survive) with the input at each end of its range", tickformat=".0%", range=[-0.03, 1.03]),
            axis("", type="category", autorange="reversed"),
            height=max(240, 30 * len(shown) + 130),
            margin={"l": 8, "r": 20, "t": 40, "b": 60},  # the category axis widens it to its labels
        ),
    )
    sentences = flip_sentences(flips, rival_names)
    headline = flips["survival_probability"] * 100
    summary = (
        "Closest to today: " + "; ".join(sentences) + "."
        if sentences
        else f"No input flips the answer within its range (P(survive) {headline:.0f} %)."
    ) + f" {len(never)} inputs never cross 50 % within their range."
    rows = [
        (
            input_label(f["input"], rival_names),
            _number(f["now"]),
            f"{_number(f['low'])} – {_number(f['high'])}",
            "never, within its range"
            if f["threshold"] is None
            else f"{f['falls_below_when']} {_number(f['threshold'])}",
            f"{f['survival_at_low'] * 100:.0f} % / {f['survival_at_high'] * 100:.0f} %",
        )
        for f in flips["flips"]
    ]
    tbl = table(
        ("Input", "Today", "Range searched", "Survival < 50 % when", "P(survive) at low / high"), rows
    )
    return Chart("flips", "What flips the answer", summary, fig, tbl, wide=True)
