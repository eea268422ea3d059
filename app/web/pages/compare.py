"""Compare: two to four scenarios or stored runs side by side, each metric with Δ and Δ% against the first
(the baseline). Scenarios are simulated with their own inputs (the explorer's preview); runs show what they
stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Scenario, SimulationRun
from app.services import csv_export
from app.services.errors import ValidationFailed
from app.web.charts.compare import compare_cash_chart, compare_survival_chart
from app.web.charts.pricewar import insolvency_by
from app.web.currency import current_money
from app.web.deps import SessionDep
from app.web.formatting import usd
from app.web.pages import pricewar_inputs as pw
from app.web.pages.explorer import expected_strategy_count, linked_ids, preview_paths
from app.web.pages.render import render
from app.web.schemas import MAX_ID, parse_row_id

router = APIRouter()
MAX_ITEMS = 4


@dataclass(frozen=True)
class Item:
    key: str  # "run:3" / "scenario:2"
    label: str
    href: str
    result: dict[str, Any]
    strategy: dict[str, Any]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # pct | share | usd | price | months | month
    higher_is_better: bool
    unit: str = ""  # the CSV's unit column: what the numbers are in


METRICS = (
    Metric("horizon_months", "Horizon simulated (months)", "month", True, "months"),
    Metric("survival_probability", "P(survive to its horizon)", "pct", True, "%"),
    Metric("insolvency_18", "P(cash < 0 by month 18)", "pct", False, "%"),
    Metric("cash_at_horizon_p50_usd", "Median cash at its horizon", "usd", True, "USD"),
    Metric("runway_months", "Runway at today's burn (months)", "months", True, "months"),
    Metric("breakeven_month", "Break-even month", "month", False, "month"),
    Metric("death_month", "Cash runs out (median month over paths)", "month", True, "month"),
    Metric("final_price", "Our price at its horizon ($ / 1M)", "price", True, "USD per 1M tokens"),
    Metric("final_share", "Our share at its horizon", "share", True, "%"),
    Metric("unit_cost_usd_per_million_tokens", "Unit cost ($ / 1M)", "price", False, "USD per 1M tokens"),
    Metric("one_off_training_usd", "One-off training", "usd", False, "USD"),
)
PERCENT_KINDS = ("pct", "share")
MONEY_KINDS = ("usd", "price")
_DIGITS = {"pct": 0, "share": 1}  # shares are often below 1 %: one decimal, so 0.4 % never reads 0 %


def _value(item: Item, metric: Metric) -> float | None:
    s = item.strategy
    if metric.key == "horizon_months":
        return float(item.result.get("horizon_months") or len(item.result.get("months") or []))
    if metric.key == "insolvency_18":
        return insolvency_by(item.result, s["name"], 18)
    if metric.key == "final_price":
        price: float | None = s["price_usd_per_million_tokens"]["p50"][-1]
        return price
    if metric.key == "final_share":
        share: float | None = s["share_fraction"]["p50"][-1]
        return share
    value = s.get(metric.key)
    return None if value is None else float(value)


def _minus(text: str) -> str:
    """A typographic minus, and never a signed zero ("−0 pts", "+0.0 %")."""
    if re.fullmatch(r"[+-]?0(\.0+)?( %| pts)?", text):
        return text.lstrip("+-")
    return text.replace("-", "−")


def _shown(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    formats: dict[str, Callable[[float], str]] = {
        "pct": lambda v: f"{v * 100:.0f} %",
        "share": lambda v: f"{v * 100:.1f} %",
        "usd": usd,
        "price": usd,
        "months": lambda v: f"{v:.1f}",
        "month": lambda v: f"{v:.0f}",
    }
    return _minus(formats[kind](value))


def relative_change(value: float, base: float) -> float | None:
    """Δ as a fraction of the baseline, only where that means something: a positive baseline and a value of
    the same sign (against a negative or zero baseline, or across zero, a percentage reads backwards)."""
    if base > 0 and value >= 0:
        return (value - base) / base
    return None


def _delta(value: float | None, base: float | None, metric: Metric) -> tuple[str, str, str]:
    """(Δ text, Δ% text, css class: better/worse/none)."""
    if value is None or base is None:
        return "—", "—", ""
    diff = value - base
    if diff == 0:
        return "0", "0 %", ""
    if metric.kind in PERCENT_KINDS:
        text = f"{diff * 100:+.{_DIGITS[metric.kind]}f} pts"
    elif metric.kind in ("usd", "price"):
        text = ("+" if diff > 0 else "") + usd(diff)
    else:
        text = f"{diff:+.1f}"
    fraction = relative_change(value, base)
    pct = f"{fraction * 100:+.0f} %" if fraction is not None else "n/m"
    better = (diff > 0) == metric.higher_is_better
    return _minus(text), _minus(pct), "delta-down" if better else "delta-up"


def csv_number(value: float | None, kind: str) -> float | str:
    """A number in the unit the screen shows (percent for probabilities and shares), rounded to what the
    inputs support (no float noise such as 0.25699999999999995)."""
    if value is None:
        return ""
    if kind in PERCENT_KINDS:
        return round(value * 100, 2)
    if kind in ("usd",):
        return round(value, 2)
    if kind == "price":
        return round(value, 6)
    return round(value, 2)


def _items(session: Session, keys: list[str]) -> list[Item]:
    items: list[Item] = []
    for key in keys[:MAX_ITEMS]:
        kind, _, raw = key.partition(":")
        row_id = parse_row_id(raw)
        if row_id is None:  # the API's id bounds: never a database overflow (500)
            raise ValidationFailed(f"{kind}={raw[:40]!r} is not a row id (1 to {MAX_ID})", field=kind)
        if kind == "run":
            run = session.get(SimulationRun, row_id)
            if run is None:
                continue
            items.append(
                Item(
                    key,
                    f"Run #{run.id} {run.name}"[:60],
                    f"/runs/{run.id}",
                    run.results,
                    run.results["strategies"][0],
                )
            )
        elif kind == "scenario":
            row = session.get(Scenario, row_id)
            if row is None:
                continue
            preset = pw.load_preset(row.inputs)
            ids = linked_ids(row)
            paths = preview_paths(expected_strategy_count(preset, ids))
            result, _ = pw.preview(session, preset, preset.scenario, paths, **ids)
            items.append(
                Item(key, row.name[:60], f"/explorer?scenario={row.id}", result, result["strategies"][0])
            )
    return items


def _selection(request: Request) -> list[str]:
    keys = [f"run:{v}" for v in request.query_params.getlist("run")]
    keys += [f"scenario:{v}" for v in request.query_params.getlist("scenario")]
    baseline = request.query_params.get("baseline")
    if baseline in keys:
        keys.remove(baseline)
        keys.insert(0, baseline)
    return list(dict.fromkeys(keys))


def _rows(items: list[Item]) -> list[dict[str, Any]]:
    base = items[0]
    rows = []
    for m in METRICS:
        base_value = _value(base, m)
        cells = [{"value": base_value, "shown": _shown(base_value, m.kind)}]
        for item in items[1:]:
            v = _value(item, m)
            d, dp, css = _delta(v, base_value, m)
            cells.append({"value": v, "shown": _shown(v, m.kind), "delta": d, "delta_pct": dp, "css": css})
        rows.append({"metric": m, "cells": cells})
    return rows


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request, session: SessionDep) -> HTMLResponse:
    keys = _selection(request)
    default_view = not keys
    if default_view:  # never an empty page: the shipped presets side by side until the user picks
        keys = [
            f"scenario:{i}"
            for i in session.scalars(
                select(Scenario.id)
                .where(Scenario.is_preset.is_(True))
                .order_by(Scenario.name)
                .limit(MAX_ITEMS)
            )
        ]
    error = ""
    if len(keys) == 1:
        error = "Choose at least two scenarios or runs to compare."
    elif len(keys) > MAX_ITEMS:
        error = f"Choose at most {MAX_ITEMS}: the first {MAX_ITEMS} are shown."
    items = _items(session, keys)
    context: dict[str, Any] = {
        "active_nav": "compare",
        "error": error,
        "items": items,
        "selected": set(keys),
        "scenarios": list(
            session.scalars(select(Scenario).order_by(Scenario.is_preset.desc(), Scenario.name))
        ),
        "runs": list(session.scalars(select(SimulationRun).order_by(SimulationRun.id.desc()).limit(50))),
        "query": request.url.query or "&".join(k.replace(":", "=") for k in keys),
        "default_view": default_view,
    }
    if default_view:
        context["selected"] = set()
    if len(items) >= 2:
        horizons = sorted({int(_value(i, METRICS[0]) or 0) for i in items})
        if len(horizons) > 1:
            context["horizon_note"] = (
                "These columns simulate different horizons ("
                + ", ".join(f"{h} months" for h in horizons)
                + "): survival, cash and price “at its horizon” compare different spans of time."
            )
        context["rows"] = _rows(items)
        pairs = [(i.label, i.strategy) for i in items]
        context["charts"] = [compare_cash_chart(pairs), compare_survival_chart(pairs)]
    status = 422 if error and len(items) < 2 and keys else 200
    return render(request, "compare.html", context, status_code=status)


@router.get("/compare.csv")
def compare_csv(request: Request, session: SessionDep) -> Response:
    """The comparison table as on screen (its labels, percent where it shows percent), with machine-readable
    numbers: value per column, then Δ and Δ % against the baseline (empty where Δ % means nothing)."""
    items = _items(session, _selection(request))
    money = current_money()  # the page's ?currency=: money rows converted at the page's dated rate
    lines: list[list[Any]] = []
    header = ["metric", "unit", f"{items[0].label} (baseline)" if items else "baseline"]
    for item in items[1:]:
        header += [item.label, f"{item.label} Δ", f"{item.label} Δ %"]
    if len(items) >= 2:
        for row in _rows(items):
            metric: Metric = row["metric"]
            base = row["cells"][0]["value"]
            delta_unit = "points" if metric.kind in PERCENT_KINDS else metric.unit
            is_money = metric.kind in MONEY_KINDS
            label, unit = metric.label, f"{metric.unit} (Δ in {delta_unit})"
            if is_money:  # the label and the unit name the display currency ("EUR per 1M tokens")
                label = csv_export.currency_header(label, money.code) if "$" in label else label
                unit = csv_export.currency_header(unit, money.code)

            def number(value: float | None, kind: str = metric.kind, is_money: bool = is_money) -> Any:
                return csv_number(csv_export.convert(value, money) if is_money else value, kind)

            line: list[Any] = [label, unit, number(base)]
            for cell in row["cells"][1:]:
                v = cell["value"]
                fraction = None if v is None or base is None else relative_change(v, base)
                line += [
                    number(v),
                    "" if v is None or base is None else number(v - base),
                    "" if fraction is None else round(fraction * 100, 1),
                ]
            lines.append(line)
    return Response(
        csv_export.to_csv(header, lines),
        media_type=csv_export.CSV_MEDIA_TYPE,
        headers=csv_export.attachment("compare.csv" if money.code == "USD" else f"compare-{money.code}.csv"),
    )
