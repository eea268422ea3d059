"""Price-war charts, built from a simulation result in its stored JSON form (SimulationResult.to_dict()), so
a live preview and a stored run draw through the same code: price timeline, market share, cash fan chart,
survival curves, tornado and break-even."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.web.charts.base import FLOOR, OURS, PALETTE, Chart, axis, color, figure, layout, rgba, table
from app.web.formatting import number, usd

Result = Mapping[str, Any]


def strategy_of(result: Result, name: str | None) -> Mapping[str, Any]:
    strategies = result["strategies"]
    return next((s for s in strategies if s["name"] == name), strategies[0])


def _p(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.0f} %"


# The outside option (demand that buys no API) is grey; rivals never take grey, ours (blue) or our floor's
# vermillion, so every line keeps one meaning in every price-war chart.
OUTSIDE_OPTION_COLOR = "#999999"
RIVAL_COLORS = tuple(c for c in PALETTE if c not in (OURS, FLOOR, OUTSIDE_OPTION_COLOR))


def rival_color(i: int) -> str:
    """Rival i's colour, the same in every price-war chart."""
    return RIVAL_COLORS[i % len(RIVAL_COLORS)]


def rival_dash(i: int) -> str:
    """Solid for the first rivals; once the colours repeat, dash-dot, then long dashes (plain dashes mean
    our floor, dots the outside option)."""
    return ("solid", "dashdot", "longdash")[(i // len(RIVAL_COLORS)) % 3]


def floor_by_month(result: Result, s: Mapping[str, Any]) -> tuple[dict[str, list[float | None]], bool]:
    """Our price floor by month (p5 … p95) and whether it varies over the paths. Runs stored before the
    engine reported it by month carry only the month-1 figure: a flat line, as they were drawn then."""
    bands = s.get("price_floor_usd_per_million_tokens_by_month")
    if not bands:
        flat = [s["price_floor_usd_per_million_tokens"]] * len(result["months"])
        return {"p5": flat, "p50": flat, "p95": flat}, False
    uncertain = any(
        lo is not None and hi is not None and hi > lo * (1 + 1e-9)
        for lo, hi in zip(bands["p5"], bands["p95"], strict=False)
    )
    return bands, uncertain


def cash_runs_out(s: Mapping[str, Any], horizon_months: int) -> str:
    """The Monte Carlo answer: the median over paths of the first month with cash < 0 (death month)."""
    month = s.get("death_month")
    return f"month {month}" if month else f"not within {horizon_months} months"


def static_runway(s: Mapping[str, Any]) -> str:
    """(Starting cash − one-off spend) / month-1 burn: how long cash lasts if nothing changes."""
    runway = s.get("runway_months")
    return "no burn" if runway is None else f"{runway:.1f} months"


def floor_text(s: Mapping[str, Any]) -> str:
    """Our price floor in month 1 and, when it moves, at the horizon."""
    first = s["price_floor_usd_per_million_tokens"]
    bands = s.get("price_floor_usd_per_million_tokens_by_month")
    last = bands["p50"][-1] if bands else None
    if last is None or abs(last - first) <= 1e-9 * max(abs(first), 1e-12):
        return usd(first)
    return f"{usd(first)} → {usd(last)}"


def price_timeline_chart(result: Result, strategy: str | None = None) -> Chart:
    s = strategy_of(result, strategy)
    months = result["months"]
    floor, floor_uncertain = floor_by_month(result, s)
    by_month = bool(s.get("price_floor_usd_per_million_tokens_by_month"))
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "our price (median)",
            "x": months,
            "y": s["price_usd_per_million_tokens"]["p50"],
            "line": {"shape": "hv", "color": OURS, "width": 3},
            "hovertemplate": "month %{x}: $%{y:.3f} per 1M tokens<extra>our price</extra>",
        }
    ]
    rivals = zip(result["rival_names"], s["rival_price_usd_per_million_tokens"], strict=True)
    for i, (name, bands) in enumerate(rivals):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": months,
                "y": bands["p50"],
                "line": {"shape": "hv", "color": rival_color(i), "width": 1.8, "dash": rival_dash(i)},
                "hovertemplate": "month %{x}: $%{y:.3f}<extra>" + name + "</extra>",
            }
        )
    if floor_uncertain:  # the unit cost's own uncertainty (GPU price, cost decline): a p5–p95 band
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "our floor p5–p95",
                "x": months + months[::-1],
                "y": floor["p95"] + floor["p5"][::-1],
                "fill": "toself",
                "fillcolor": rgba(FLOOR, 0.12),
                "line": {"width": 0},
                "hoverinfo": "skip",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "our price floor (unit cost × margin" + (", median)" if floor_uncertain else ")")
            if by_month
            else "our price floor (month-1 unit cost × margin)",
            "x": months,
            "y": floor["p50"],
            "line": {"shape": "hv", "color": FLOOR, "dash": "dash", "width": 2},
            "hovertemplate": "month %{x}: floor $%{y:.3f}<extra></extra>",
        }
    )
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis("$ per 1M tokens (median path, log)", type="log", tickprefix="$", dtick=1),
            height=400,
            legend={"orientation": "v", "x": 1.02, "y": 1, "xanchor": "left"},
            margin={"l": 70, "r": 16, "t": 36, "b": 50},
        ),
    )
    ours = s["price_usd_per_million_tokens"]["p50"]
    rivals_end = [b["p50"][-1] for b in s["rival_price_usd_per_million_tokens"] if b["p50"][-1] is not None]
    floor_text = (
        f"; our floor falls from {usd(floor['p50'][0])} to {usd(floor['p50'][-1])} as our unit cost declines"
        if by_month and floor["p50"][-1] != floor["p50"][0]
        else f"; our floor is {usd(floor['p50'][0])}"
    )
    summary = (
        f"Under “{s['name']}” our median price goes from {usd(ours[0])} to {usd(ours[-1])} per 1M tokens by "
        f"month {months[-1]}"
        + (f", while the cheapest rival ends at {usd(min(rivals_end))}" if rivals_end else "")
        + floor_text
        + "."
    )
    rows = [
        (
            str(m),
            usd(ours[t]),
            *[usd(b["p50"][t]) for b in s["rival_price_usd_per_million_tokens"]],
            usd(floor["p50"][t]),
        )
        for t, m in enumerate(months)
    ]
    tbl = table(("Month", "Our price", *result["rival_names"], "Our floor"), rows)
    return Chart(
        "price-timeline",
        "Price timeline: ours, rivals' and our unit-cost floor ($ per 1M tokens)",
        summary,
        fig,
        tbl,
        height_px=400,
        wide=True,
    )


def share_chart(result: Result, strategy: str | None = None) -> Chart:
    s = strategy_of(result, strategy)
    shares = s.get("shares_of_all_demand_fraction_p50")
    if not shares:  # runs stored before every firm's share was reported: ours alone
        return _our_share_chart(result, s)
    months = result["months"]
    names = list(result["rival_names"])
    # Lines on a log axis rather than a stacked area: our share is often a few per cent of all demand, which
    # a 0–100 % stack would flatten into the axis; the log axis keeps ours and the leaders both readable.
    data: list[dict[str, Any]] = []
    for i, (name, series) in enumerate(zip(names, shares["rivals"], strict=False)):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": months,
                "y": series,
                "line": {"color": rival_color(i), "width": 1.6, "dash": rival_dash(i)},
                "hovertemplate": "month %{x}: %{y:.1%}<extra>" + name + "</extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "outside option (no API)",
            "x": months,
            "y": shares["outside_option"],
            "line": {"color": OUTSIDE_OPTION_COLOR, "width": 1.6, "dash": "dot"},
            "hovertemplate": "month %{x}: %{y:.1%}<extra>outside option</extra>",
        }
    )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"us: “{s['name']}” (median)",
            "x": months,
            "y": shares["ours"],
            "line": {"color": OURS, "width": 4},
            "hovertemplate": "month %{x}: %{y:.2%}<extra>our share</extra>",
        }
    )
    values = [v for series in (shares["ours"], shares["outside_option"], *shares["rivals"]) for v in series]
    positive = [v for v in values if v is not None and v > 0]
    low = max(min(positive, default=1e-3), 1e-5)
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis(
                "Share of all demand (%, median path, log)",
                type="log",
                tickformat=".1~%",
                tickvals=[v for v in _SHARE_TICKS if low / 2 <= v <= 2 * max(positive, default=1.0)],
                range=[math.log10(low) - 0.1, math.log10(max(positive, default=1.0)) + 0.1],
            ),
            height=400,
            legend={"orientation": "v", "x": 1.02, "y": 1, "xanchor": "left"},
            margin={"l": 70, "r": 16, "t": 36, "b": 50},
        ),
    )
    ours = shares["ours"]
    leader = max(range(len(names)), key=lambda j: shares["rivals"][j][-1] or 0.0, default=None)
    summary = (
        f"Under “{s['name']}” our median share of all demand moves from {_p1(ours[0])} in month 1 to "
        f"{_p1(ours[-1])} in month {months[-1]}"
        + (
            f"; the largest rival then is {names[leader]} with {_p1(shares['rivals'][leader][-1])}"
            if leader is not None
            else ""
        )
        + f", and {_p1(shares['outside_option'][-1])} of demand buys no API."
    )
    tbl = table(
        ("Month", "Us", *names, "Outside option"),
        [
            (
                str(m),
                _p1(ours[t]),
                *[_p1(series[t]) for series in shares["rivals"]],
                _p1(shares["outside_option"][t]),
            )
            for t, m in enumerate(months)
        ],
    )
    return Chart(
        "share",
        "Market share of every firm and the outside option (% of all demand, medians over paths)",
        summary,
        fig,
        tbl,
        height_px=400,
        wide=True,
    )


_SHARE_TICKS = tuple(m * 10.0**e for e in range(-5, 1) for m in (1, 2, 5) if m * 10.0**e <= 1.0)


def _p1(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f} %"


def _our_share_chart(result: Result, s: Mapping[str, Any]) -> Chart:
    months = result["months"]
    share = s["share_fraction"]
    ours = [v or 0.0 for v in share["p50"]]
    # A band and a line rather than a stacked area: our share is often a few per cent, which a 0–100 %
    # stack would flatten into the axis.
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "p5–p95",
            "x": months + months[::-1],
            "y": share["p95"] + share["p5"][::-1],
            "fill": "toself",
            "fillcolor": rgba(OURS, 0.2),
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "our share (median)",
            "x": months,
            "y": ours,
            "line": {"color": OURS, "width": 3},
            "hovertemplate": "month %{x}: %{y:.1%}<extra>our share</extra>",
        },
    ]
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis("Our share of the API market's volume (%)", percent=True),
        ),
    )
    summary = (
        f"Our median share of the market moves from {_p(share['p50'][0])} in month 1 to "
        f"{_p(share['p50'][-1])} in month {months[-1]} "
        f"(p5–p95 at the end: {_p(share['p5'][-1])}–{_p(share['p95'][-1])})."
    )
    tbl = table(
        ("Month", "Our share p5", "p50", "p95"),
        [
            (str(m), _p(share["p5"][t]), _p(share["p50"][t]), _p(share["p95"][t]))
            for t, m in enumerate(months)
        ],
    )
    return Chart("share", "Our market share (% of the API market's volume)", summary, fig, tbl)


def insolvency_by(result: Result, strategy: str | None, month: int) -> float:
    """P(cash < 0 by month N) = 1 − survival at N (death is absorbing in the simulator)."""
    s = strategy_of(result, strategy)
    curve = s["survival_curve"]
    month = max(1, min(month, len(curve)))
    return 1.0 - float(curve[month - 1])


def cash_fan_chart(result: Result, strategy: str | None, month_n: int) -> Chart:
    s = strategy_of(result, strategy)
    months = result["months"]
    cash = s["cash_usd"]
    risk = insolvency_by(result, strategy, month_n)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "p5–p95",
            "x": months + months[::-1],
            "y": cash["p95"] + cash["p5"][::-1],
            "fill": "toself",
            "fillcolor": rgba(OURS, 0.18),
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "p25–p75",
            "x": months + months[::-1],
            "y": cash["p75"] + cash["p25"][::-1],
            "fill": "toself",
            "fillcolor": rgba(OURS, 0.35),
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "median",
            "x": months,
            "y": cash["p50"],
            "line": {"color": OURS, "width": 3},
            "hovertemplate": "month %{x}: %{y:$,.3s}<extra>median cash</extra>",
        },
    ]
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"color": "theme", "width": 1.5},
        },
        {
            "type": "line",
            "x0": month_n,
            "x1": month_n,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": FLOOR, "width": 1.5, "dash": "dot"},
        },
    ]
    annotations = [
        {
            "x": 0.5,
            "xref": "paper",
            "yref": "paper",
            "y": 1.0,
            "yanchor": "bottom",
            "showarrow": False,
            "text": f"P(cash < 0 by month {month_n}) = {risk * 100:.0f} %",
            "font": {"size": 13},
        }
    ]
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis("Cash (USD)", money=True),
            shapes=shapes,
            annotations=annotations,
            margin={"l": 70, "r": 16, "t": 60, "b": 50},
            legend={"orientation": "h", "y": 1.12, "yanchor": "bottom", "x": 0},
        ),
    )
    summary = (
        f"P(cash < 0 by month {month_n}) = {risk * 100:.0f} % under “{s['name']}”; median cash at month "
        f"{months[-1]} is {usd(cash['p50'][-1])} (p5 {usd(cash['p5'][-1])}, p95 {usd(cash['p95'][-1])})."
    )
    tbl = table(
        ("Month", "Cash p5", "p25", "p50", "p75", "p95"),
        [
            (str(m), *[usd(cash[b][t]) for b in ("p5", "p25", "p50", "p75", "p95")])
            for t, m in enumerate(months)
        ],
    )
    return Chart(
        "cash-fan", "Cash fan chart: p5–p95 and p25–p75 bands with the median (USD)", summary, fig, tbl
    )


def survival_chart(result: Result, *, wide: bool = False) -> Chart:
    """`wide` spans both grid columns even with few strategies (the explorer's grid has no partner for it)."""
    months = result["months"]
    data = []
    for i, s in enumerate(result["strategies"]):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": s["name"],
                "x": [0, *months],
                "y": [1.0, *s["survival_curve"]],
                # Past eight strategies the colours repeat: a dash pattern tells the second round apart.
                "line": {
                    "shape": "hv",
                    "color": color(i),
                    "width": 2.5 if i == 0 else 1.8,
                    "dash": ("solid", "dash", "dot")[(i // 8) % 3],
                },
                "hovertemplate": "month %{x}: %{y:.0%} solvent<extra>" + s["name"] + "</extra>",
            }
        )
    many = len(data) > 4  # a long legend goes to the right of a full-width chart
    extra: dict[str, Any] = (
        {
            "legend": {"orientation": "v", "x": 1.02, "y": 1, "xanchor": "left"},
            "margin": {"l": 64, "r": 16, "t": 16, "b": 56},
        }
        if many
        else {}
    )
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis("Paths still solvent (%)", percent=True, range=[0, 1.05]),
            height=420 if many else 380,
            **extra,
        ),
    )
    ranked = sorted(result["strategies"], key=lambda s: -s["survival_probability"])
    best, worst = ranked[0], ranked[-1]
    summary = (
        f"“{best['name']}” survives to month {months[-1]} on {_p(best['survival_probability'])} of paths"
        + (f"; “{worst['name']}” on {_p(worst['survival_probability'])}." if len(ranked) > 1 else ".")
    )
    tbl = table(
        (
            "Strategy",
            "P(survive to horizon)",
            "Cash runs out (median over paths)",
            "Runway at today's burn",
            "Break-even month",
        ),
        [
            (
                s["name"],
                _p(s["survival_probability"]),
                cash_runs_out(s, months[-1]),
                static_runway(s),
                str(s["breakeven_month"] or "—"),
            )
            for s in ranked
        ],
    )
    return Chart(
        "survival",
        "Survival curve per strategy (share of Monte Carlo paths with cash ≥ 0)",
        summary,
        fig,
        tbl,
        height_px=420 if many else 380,
        wide=many or wide,
    )


INPUT_LABELS = {
    "firm.price_usd_per_million_tokens": "our price",
    "firm.unit_cost_usd_per_million_tokens": "our unit cost",
    "firm.fixed_costs_usd_per_month": "fixed costs",
    "firm.starting_cash_usd": "starting cash",
    "firm.one_off_training_usd": "training spend",
    "firm.cost_decline_per_year": "cost decline / year",
    "firm.unit_cost_multiplier": "GPU price / unit-cost multiplier",
    "market.volume_million_tokens_per_month": "market volume",
    "market.market_elasticity": "market elasticity",
    "market.switching_elasticity": "switching elasticity",
    "market.demand_growth_per_year_fraction": "demand growth",
    "market.price_decline_per_year": "market price decline / year",
}


def input_label(name: str, rival_names: Sequence[str] = ()) -> str:
    if name in INPUT_LABELS:
        return INPUT_LABELS[name]
    if name.startswith("rivals["):
        index = int(name[7 : name.index("]")])
        who = rival_names[index] if index < len(rival_names) else f"rival {index + 1}"
        rest = name[name.index("]") + 2 :].replace("cuts[0].", "cut ").replace("_usd_per_million_tokens", "")
        return f"{who}: {rest.replace('_', ' ')}"
    return name.split(".")[-1].replace("_", " ")


def input_value(name: str, value: float) -> str:
    """Money inputs read as dollars; others keep three significant digits."""
    if name.endswith("_usd") or "usd_per_month" in name or abs(value) >= 1e4:
        return usd(value)
    return f"{value:.3g}"


def tornado_chart(tornado: Mapping[str, Any], rival_names: Sequence[str] = ()) -> Chart:
    bars = list(tornado["bars"])[:12]
    base = tornado["base_value"]
    survival = tornado["outcome"] == "survival_probability"
    fmt = (lambda v: f"{v * 100:.0f} %") if survival else usd
    labels = [input_label(b["input"], rival_names) for b in bars][::-1]
    bars = bars[::-1]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "input at low",
            "y": labels,
            "x": [b["outcome_at_low"] - base for b in bars],
            "base": base,
            "marker": {"color": color(0)},
            "text": [f"{input_value(b['input'], b['low_value'])} → {fmt(b['outcome_at_low'])}" for b in bars],
            "hovertemplate": "%{y} low: %{text}<extra></extra>",
            "textposition": "none",
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "input at high",
            "y": labels,
            "x": [b["outcome_at_high"] - base for b in bars],
            "base": base,
            "marker": {"color": color(1)},
            "text": [
                f"{input_value(b['input'], b['high_value'])} → {fmt(b['outcome_at_high'])}" for b in bars
            ],
            "hovertemplate": "%{y} high: %{text}<extra></extra>",
            "textposition": "none",
        },
    ]
    outcome = (
        f"P(survive to month {tornado['outcome_month']})"
        if survival
        else f"median cash at month {tornado['outcome_month']}"
    )
    x_extra: dict[str, Any] = {"tickformat": ".0%"} if survival else {"tickprefix": "$", "tickformat": "~s"}
    x = axis(
        f"{outcome[0].upper() + outcome[1:]} ({'%' if survival else 'USD'})",
        **x_extra,
    )
    fig = figure(
        data,
        layout(
            x,
            axis("Input (one at a time, low → high)", type="category"),
            barmode="overlay",
            height=max(320, 30 * len(bars) + 120),
            shapes=[
                {
                    "type": "line",
                    "x0": base,
                    "x1": base,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "theme", "width": 1.5},
                }
            ],
            margin={"l": 230, "r": 16, "t": 40, "b": 56},
        ),
    )
    top = list(tornado["bars"])[0] if tornado["bars"] else None
    summary = (
        f"The {outcome} ({fmt(base)} at central inputs) swings most with "
        f"{input_label(top['input'], rival_names)}: "
        f"{fmt(top['outcome_at_low'])} at {input_value(top['input'], top['low_value'])} vs "
        f"{fmt(top['outcome_at_high'])} at {input_value(top['input'], top['high_value'])}."
        if top
        else "No input is uncertain, so nothing to rank."
    )
    tbl = table(
        ("Input", "Low", "Outcome at low", "High", "Outcome at high", "Swing"),
        [
            (
                input_label(b["input"], rival_names),
                input_value(b["input"], b["low_value"]),
                fmt(b["outcome_at_low"]),
                input_value(b["input"], b["high_value"]),
                fmt(b["outcome_at_high"]),
                fmt(b["swing"]),
            )
            for b in tornado["bars"]
        ],
    )
    return Chart("tornado", f"Tornado: what moves the {outcome} most", summary, fig, tbl, wide=True)


def breakeven_chart(
    result: Result,
    strategy: str | None,
    fixed_costs_usd_per_month: float,
    breakeven_volume_million_tokens: float | None,
) -> Chart:
    """Monthly revenue against total cost (variable + fixed) on the median path; the gap is profit or loss."""
    s = strategy_of(result, strategy)
    months = result["months"]
    revenue = [v or 0.0 for v in s["revenue_usd_per_month"]["p50"]]
    gross = [v or 0.0 for v in s["gross_profit_usd_per_month"]["p50"]]
    cost = [r - g + fixed_costs_usd_per_month for r, g in zip(revenue, gross, strict=False)]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "total cost (variable + fixed)",
            "x": months,
            "y": cost,
            "line": {"color": FLOOR, "width": 2.5},
            "hovertemplate": "month %{x}: %{y:$,.3s}<extra>cost</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "revenue",
            "x": months,
            "y": revenue,
            "fill": "tonexty",
            "fillcolor": rgba(color(2), 0.25),
            "line": {"color": color(2), "width": 2.5},
            "hovertemplate": "month %{x}: %{y:$,.3s}<extra>revenue</extra>",
        },
    ]
    shapes, annotations = [], []
    if s.get("breakeven_month"):
        shapes.append(
            {
                "type": "line",
                "x0": s["breakeven_month"],
                "x1": s["breakeven_month"],
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "theme", "dash": "dot", "width": 1.5},
            }
        )
        # Anchored towards the middle: Plotly's autorange makes room for annotation text in data coordinates.
        late = s["breakeven_month"] > months[-1] / 2
        annotations.append(
            {
                "x": s["breakeven_month"],
                "yref": "paper",
                "y": 1,
                "yanchor": "top",
                "xanchor": "right" if late else "left",
                "xshift": -4 if late else 4,
                "showarrow": False,
                "text": f"break-even month {s['breakeven_month']}",
            }
        )
    fig = figure(
        data,
        layout(
            axis("Month", dtick=6 if len(months) > 24 else 3),
            axis("USD per month", money=True),
            shapes=shapes,
            annotations=annotations,
        ),
    )
    be = s.get("breakeven_month")
    summary = (
        f"On the median path revenue {'overtakes' if be else 'never overtakes'} total cost"
        + (f" in month {be}" if be else f" within {months[-1]} months")
        + (
            f"; at month-1 prices the break-even volume is "
            f"{number(breakeven_volume_million_tokens * 1e6)} tokens a month."
            if breakeven_volume_million_tokens is not None
            else "; at month-1 prices no volume breaks even."
        )
    )
    tbl = table(
        ("Month", "Revenue (median)", "Total cost (median)", "Profit or loss"),
        [(str(m), usd(r), usd(c), usd(r - c)) for m, r, c in zip(months, revenue, cost, strict=False)],
    )
    return Chart(
        "breakeven", "Break-even: revenue against total cost (USD per month, median path)", summary, fig, tbl
    )
