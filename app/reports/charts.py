"""The board pack's charts as static SVG (matplotlib, no browser, no script): the same series the pages
draw with Plotly, from a stored result in its JSON form, with the site's colour-blind-safe palette."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from app.reports.money import Money

matplotlib.use("Agg")  # no display; figures are drawn through the SVG canvas only

# Okabe & Ito (2008): ours blue, our floor vermillion, the outside option grey, rivals the rest.
OURS, FLOOR, GREY = "#0072B2", "#D55E00", "#999999"
RIVALS = ("#E69F00", "#009E73", "#56B4E9", "#CC79A7", "#F0E442")
STRATEGY_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")
RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, rendered by the PDF's own fonts
    "svg.hashsalt": "pricewar-board-pack",  # the same inputs give the same file
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e7ec",
    "grid.linewidth": 0.6,
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(RC):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline in HTML: no XML prolog or DOCTYPE


def _figure(height_in: float = 2.9) -> tuple[Figure, Any]:
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.0, height_in), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _legend_below(ax: Any, columns: int = 3) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=columns, frameon=False, fontsize=8)


def price_timeline(result: Mapping[str, Any], s: Mapping[str, Any], money: Money) -> str:
    with matplotlib.rc_context(RC):
        fig, ax = _figure(3.3)
        months = result["months"]
        scale = money.per_usd
        ax.step(
            months,
            [v * scale for v in s["price_usd_per_million_tokens"]["p50"]],
            where="post",
            color=OURS,
            linewidth=2.4,
            label="our price (median)",
        )
        rivals = zip(result["rival_names"], s["rival_price_usd_per_million_tokens"], strict=True)
        for i, (name, bands) in enumerate(rivals):
            style = ("-", "-.", (0, (8, 3)))[(i // len(RIVALS)) % 3]
            ax.step(
                months,
                [v * scale for v in bands["p50"]],
                where="post",
                color=RIVALS[i % len(RIVALS)],
                linewidth=1.3,
                linestyle=style,
                label=name,
            )
        floor = s.get("price_floor_usd_per_million_tokens_by_month")
        if floor:
            ax.step(
                months,
                [None if v is None else v * scale for v in floor["p50"]],
                where="post",
                color=FLOOR,
                linewidth=1.6,
                linestyle="--",
                label="our floor (median)",
            )
        ax.set_yscale("log")
        ax.set_xlabel("Month")
        ax.set_ylabel(f"{money.symbol} per 1M tokens (log)")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: money(v / scale)))
        _legend_below(ax)
        return _svg(fig)


def cash_fan(result: Mapping[str, Any], s: Mapping[str, Any], month_n: int, money: Money) -> str:
    with matplotlib.rc_context(RC):
        fig, ax = _figure()
        months = result["months"]
        cash = {k: [v * money.per_usd for v in s["cash_usd"][k]] for k in ("p5", "p25", "p50", "p75", "p95")}
        ax.fill_between(months, cash["p5"], cash["p95"], color=OURS, alpha=0.18, linewidth=0, label="p5–p95")
        ax.fill_between(
            months, cash["p25"], cash["p75"], color=OURS, alpha=0.35, linewidth=0, label="p25–p75"
        )
        ax.plot(months, cash["p50"], color=OURS, linewidth=2.4, label="median")
        ax.axhline(0, color="#1b1f24", linewidth=1)
        ax.axvline(month_n, color=FLOOR, linewidth=1.2, linestyle=":", label=f"month {month_n}")
        ax.set_xlabel("Month")
        ax.set_ylabel(f"Cash ({money.code})")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: money(v / money.per_usd)))
        _legend_below(ax, 4)
        return _svg(fig)


def survival(result: Mapping[str, Any], highlight: str) -> str:
    with matplotlib.rc_context(RC):
        fig, ax = _figure()
        months = [0, *result["months"]]
        for i, st in enumerate(result["strategies"][:16]):
            style = ("-", "--", ":")[(i // len(STRATEGY_COLORS)) % 3]
            mine = st["name"] == highlight
            ax.step(
                months,
                [1.0, *st["survival_curve"]],
                where="post",
                linestyle=style,
                color=STRATEGY_COLORS[i % len(STRATEGY_COLORS)],
                linewidth=2.4 if mine else 1.2,
                label=st["name"],
            )
        ax.set_ylim(-0.02, 1.04)
        ax.set_xlabel("Month")
        ax.set_ylabel("Share of paths still solvent")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v * 100:.0f} %"))
        _legend_below(ax, 3)
        return _svg(fig)


def tornado(bars: Sequence[Mapping[str, Any]], base: float, labels: Sequence[str], money: Money) -> str:
    with matplotlib.rc_context(RC):
        fig, ax = _figure(0.45 * len(bars) + 1.2)
        y = list(range(len(bars)))[::-1]
        low = [(b["outcome_at_low"] - base) * money.per_usd for b in bars]
        high = [(b["outcome_at_high"] - base) * money.per_usd for b in bars]
        left = base * money.per_usd
        ax.barh(y, low, left=left, color=OURS, label="input at its low value")
        ax.barh(y, high, left=left, color="#E69F00", alpha=0.85, label="input at its high value")
        ax.axvline(left, color="#1b1f24", linewidth=1)
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"Median cash at the outcome month ({money.code})")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: money(v / money.per_usd)))
        ax.grid(axis="y", visible=False)
        _legend_below(ax, 2)
        return _svg(fig)
