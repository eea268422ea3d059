"""The board pack of a stored run: one self-contained HTML document (inline CSS and SVG, no script, no
outside request) that also prints to PDF. Contents: headline numbers, price timeline, cash fan, survival,
tornado, what flips the answer, assumptions with their sources, every input, the date, app and engine
versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from app.config import TEMPLATES_DIR
from app.reports.money import USD, Money

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR / "report"),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
)


def app_version() -> str:
    try:
        return metadata.version("pricewar")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class RunRecord:
    """What the board pack reads of a stored run, or of a preview (`id` None: the explorer's current view,
    not stored), as plain values: the database transaction is over."""

    id: int | None
    name: str
    created_at: datetime | None
    seed: int
    path_count: int
    horizon_months: int
    engine_version: str
    inputs: Mapping[str, Any]
    results: Mapping[str, Any]


@dataclass(frozen=True)
class Extras:
    """Sensitivity computed for the pack (None: not computed, with the reason in `notes`)."""

    tornado: Mapping[str, Any] | None = None
    flips: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def label(name: str, rival_names: Sequence[str] = ()) -> str:
    """An engine input path in words: rivals[2].cuts[0].cut_fraction → 'Alibaba Qwen: cut cut fraction'."""
    if name.startswith("rivals[") and "]" in name:
        index = int(name[7 : name.index("]")])
        who = rival_names[index] if index < len(rival_names) else f"rival {index + 1}"
        rest = name[name.index("]") + 2 :].replace("cuts[0].", "first cut: ")
        return f"{who}: {rest.replace('_', ' ')}"
    words = name.replace("firm.", "our ").replace("market.", "")
    words = words.replace("_usd_per_month", " (USD per month)").replace("_usd", " (USD)")
    words = words.replace("_fraction", "")
    return words.replace("_", " ").replace(".", " ")


def _value(value: Any, name: str, money: Money) -> str:
    if isinstance(value, dict) and "dist" in value:
        parts = [_value(value[k], name, money) for k in ("low", "mode", "high") if k in value]
        return f"{value['dist']} {' / '.join(parts)}"
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        if "usd" in name and "per_million" not in name:
            return money(float(value))
        if "usd_per_million" in name:
            return money(float(value), 3)
        if "fraction" in name:
            return _pct(float(value), 1)
        if name.endswith(("seed", "month")) and isinstance(value, int):
            return str(value)  # an identifier or a month number, not a quantity
        return f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"
    return str(value)


def input_rows(scenario: Mapping[str, Any], money: Money) -> list[tuple[str, str, str]]:
    """(section, input, value) for every input of the scenario, ranges as 'dist low / mode / high'."""
    rows: list[tuple[str, str, str]] = []

    def walk(section: str, prefix: str, node: Any) -> None:
        if isinstance(node, dict) and "dist" not in node:
            for key, value in node.items():
                walk(section, f"{prefix}{key}.", value)
        elif isinstance(node, list):
            if not node:
                rows.append((section, prefix.rstrip(".").replace("_", " "), "none"))
            for i, item in enumerate(node):
                walk(section, f"{prefix}{i + 1}.", item)
        else:
            name = prefix.rstrip(".")
            rows.append((section, name.replace("_", " "), _value(node, name, money)))

    for key, value in scenario.items():
        if key == "rivals":
            for rival in value:
                walk(f"rival: {rival.get('name', '?')}", "", {k: v for k, v in rival.items() if k != "name"})
        elif isinstance(value, dict):
            walk(key, "", value)
        else:
            walk("run", "", {key: value})
    return rows


def render_html(
    run: RunRecord,
    strategy: str | None = None,
    money: Money = USD,
    extras: Extras | None = None,
    generated_at: datetime | None = None,
) -> str:
    from app.reports import charts  # imported on use: matplotlib would add seconds to every app start

    extras = extras or Extras()
    result = run.results
    strategies = result["strategies"]
    s = next((x for x in strategies if x["name"] == strategy), strategies[0])
    month_n = min(18, run.horizon_months)
    curve = s["survival_curve"]
    floor = s.get("price_floor_usd_per_million_tokens_by_month")
    headline = [
        (f"P(survive to month {run.horizon_months})", _pct(s["survival_probability"])),
        (f"P(cash < 0 by month {month_n})", _pct(1.0 - float(curve[month_n - 1]))),
        (f"Median cash at month {run.horizon_months}", money(s["cash_at_horizon_p50_usd"])),
        (
            "Cash runs out (median month)",
            f"month {s['death_month']}"
            if s.get("death_month")
            else f"not within {run.horizon_months} months",
        ),
        (
            "Runway at today's burn",
            "no burn" if s.get("runway_months") is None else f"{s['runway_months']:.1f} months",
        ),
        ("Break-even", f"month {s['breakeven_month']}" if s.get("breakeven_month") else "not reached"),
        (
            f"Our price floor per 1M tokens, month 1 → {run.horizon_months}",
            money(s["price_floor_usd_per_million_tokens"], 3)
            + (f" → {money(floor['p50'][-1], 3)}" if floor and floor["p50"][-1] is not None else ""),
        ),
    ]
    ranking = sorted(strategies, key=lambda x: (-x["survival_probability"], -x["cash_at_horizon_p50_usd"]))
    strategy_rows = [
        (
            x["name"],
            _pct(x["survival_probability"]),
            money(x["cash_at_horizon_p50_usd"]),
            f"month {x['death_month']}" if x.get("death_month") else "—",
        )
        for x in ranking
    ]
    rival_names = list(result.get("rival_names", []))
    figures = {
        "price": Markup(charts.price_timeline(result, s, money)),
        "cash": Markup(charts.cash_fan(result, s, month_n, money)),
        "survival": Markup(charts.survival(result, s["name"])),
    }
    tornado_rows: list[tuple[str, str, str]] = []
    if extras.tornado:
        bars = list(extras.tornado["bars"])[:10]
        names = [label(b["input"], rival_names) for b in bars]
        figures["tornado"] = Markup(charts.tornado(bars, extras.tornado["base_value"], names, money))
        tornado_rows = [
            (n, money(b["outcome_at_low"]), money(b["outcome_at_high"]))
            for n, b in zip(names, bars, strict=True)
        ]
    flip_rows: list[tuple[str, str, str, str]] = []
    if extras.flips:
        for f in extras.flips["flips"]:
            if f.get("threshold") is None:
                continue
            flip_rows.append(
                (
                    label(f["input"], rival_names),
                    _value(f["now"], f["input"], money),
                    _value(f["threshold"], f["input"], money),
                    f"survival falls below {extras.flips['level_fraction'] * 100:.0f} % when the input goes "
                    f"{f['falls_below_when']} this",
                )
            )
    inputs = run.inputs
    context = {
        "run": run,
        "strategy": s,
        "headline": headline,
        "strategy_rows": strategy_rows,
        "figures": figures,
        "tornado_rows": tornado_rows,
        "tornado_month": extras.tornado["outcome_month"] if extras.tornado else None,
        "flip_rows": flip_rows,
        "flips_computed": extras.flips is not None,
        "notes": extras.notes,
        "assumptions": list(inputs.get("assumptions") or []),
        "sources": list(inputs.get("sources") or []) + ([inputs["source"]] if inputs.get("source") else []),
        "description": inputs.get("description", ""),
        "input_rows": input_rows(inputs.get("scenario") or {}, money),
        "strategies_run": [x.get("name", "?") for x in inputs.get("strategies") or []],
        "money": money,
        "month_n": month_n,
        "generated_at": (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "app_version": app_version(),
    }
    return _ENV.get_template("board_pack.html").render(**context)


def render_pdf(html: str) -> bytes:
    """The same document through WeasyPrint (HTML/CSS → PDF with Pango; no browser). Nothing is fetched:
    the document is self-contained and the URL fetcher refuses every request."""
    from weasyprint import HTML  # imported on use: a heavy import the HTML pack never needs

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the board pack loads nothing from outside the document ({url})")

    pdf: bytes = HTML(string=html, url_fetcher=no_fetch).write_pdf()
    return pdf
