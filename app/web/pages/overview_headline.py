"""The Overview's headline for the chosen scenario: our price floor against the market over time, survival
probability per strategy and runway, from the same simulation the explorer shows, and what flips the answer
(the three input thresholds closest to today's values).

The headline is cached per worker (the simulation and its charts are deterministic: the scenario's inputs
carry the seed and the path count is fixed), keyed by the scenario row's id, version and updated_at and,
when the scenario is linked to a model configuration and an accelerator (the cost engine then derives the
strategies from them and from the cheapest price in effect today), by the stamps of those tables and the
date. An edit to the scenario or to a price changes the key, so a render never shows a stale headline."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, ModelConfig, PriceQuote, Scenario
from app.web.pages.page_cache import BoundedCache, database_of, stamp
from app.web.pages.render import chart_html

_HEADLINES = BoundedCache(32)


def _scenario_rows(session: Session) -> list[Any]:
    """The scenario picker's rows as plain values (no JSON documents loaded), in the explorer's order."""
    return list(
        session.execute(
            select(
                Scenario.id,
                Scenario.name,
                Scenario.is_preset,
                Scenario.version,
                Scenario.updated_at,
                Scenario.model_config_id,
                Scenario.accelerator_id,
                Scenario.inputs["slug"].as_string().label("slug"),
            ).order_by(Scenario.is_preset.desc(), Scenario.name)
        )
    )


def _pick(rows: list[Any], wanted: str | None) -> Any:
    """explorer.pick_scenario on plain rows: the wanted id, else the default preset, else the first."""
    from app.web.pages.explorer import DEFAULT_SCENARIO_SLUG

    if wanted and wanted.isdigit():
        found = next((r for r in rows if r.id == int(wanted)), None)
        if found:
            return found
    return next((r for r in rows if r.slug == DEFAULT_SCENARIO_SLUG), rows[0] if rows else None)


def cache_key(session: Session, base: Any) -> tuple[Any, ...]:
    """Everything the headline of scenario row `base` depends on (see the module docstring)."""
    key: tuple[Any, ...] = (database_of(session), base.id, base.version, base.updated_at)
    if base.model_config_id is not None and base.accelerator_id is not None:
        key += (date.today(), *stamp(session, ModelConfig, Accelerator, PriceQuote))
    return key


def _compute(session: Session, scenario_id: int) -> dict[str, Any] | None:
    from app.web.pages.explorer import compute  # the explorer owns the scenario → simulation mapping

    ctx = compute(session, {"scenario": str(scenario_id), "flips": "1"})  # + what flips the answer
    if ctx.get("base") is None or ctx["errors"] or "charts" not in ctx:
        return None
    charts = {c.key: c for c in ctx["charts"]}
    return {
        "fragments": ctx["fragments"],
        "chosen": ctx["chosen"],
        "horizon": ctx["values"]["horizon"],
        "charts": [charts["price-timeline"], charts["survival"]],
        "chart_html": [chart_html(charts["price-timeline"]), chart_html(charts["survival"])],
        "explorer_url": ctx["url"] if "scenario=" in ctx["url"] else f"/explorer?scenario={ctx['base'].id}",
        "flip_sentences": ctx.get("flip_sentences") or [],
        "flips_summary": ctx["flips_chart"].summary if ctx.get("flips_chart") else "",
    }


def headline(request: Request, session: Session) -> dict[str, Any]:
    rows = _scenario_rows(session)
    base = _pick(rows, request.query_params.get("scenario"))
    if base is None:
        return {}
    cached = _HEADLINES.get_or_compute(cache_key(session, base), lambda: _compute(session, base.id))
    if cached is None:
        return {}
    return {
        "headline": {
            **cached,
            "scenario": SimpleNamespace(id=base.id, name=base.name),
            "rows": rows,
        }
    }
