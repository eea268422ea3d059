"""Adapter between the Price-war explorer's form and the market simulator.

A stored Scenario row (a preset or a saved scenario: its `inputs` are a preset document) is the base; the
explorer's sliders override a few of its inputs. Each override has a default read from the base scenario, so
a URL carries only what the user changed.

Simulations run through the simulator's use-case layer (app/services/simulations.py: the same `preview` and
`create_run` as POST /api/v1/simulations/preview and /simulations), given the overridden preset document and
the base row's model and accelerator, so the page and the API resolve strategies the same way; the tornado
comes from the same service (`tornado_preview`, as POST /api/v1/simulations/tornado).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.db.models import Accelerator, ModelConfig, PriceQuote
from app.engine.market.closed_forms import breakeven_volume_million_tokens_per_month
from app.engine.market.codec import Preset, preset_from_dict, preset_to_dict, strategies_from_list
from app.engine.market.errors import ScenarioError
from app.engine.market.scenario import (
    OUR_RULES,
    PriceCut,
    Range,
    Scenario,
    Strategy,
    baseline_strategy,
)
from app.services import simulations
from app.web.pages.forms import FormErrors, parse_float, parse_int
from app.web.pages.page_cache import BoundedCache, database_of, stamp

PREVIEW_PATHS = 1000  # enough for stable p5/p95 bands; a stored run can use the scenario's own count
TORNADO_PATHS = 200


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    unit: str
    low: float
    high: float
    step: float
    kind: str = "float"  # float | int | rule


FIELDS: tuple[Field, ...] = (
    Field("price", "Our price", "$/1M tok", 0.01, 20, 0.01),
    Field("unit_cost", "Our unit cost", "$/1M tok", 0.01, 10, 0.01),
    Field("rule", "Our pricing rule", "", 0, 0, 0, "rule"),
    Field("rival_cut", "Rivals' price cut", "%", 0, 0.99, 0.01),
    Field("rival_cut_month", "Month of the cut", "month", 1, 36, 1, "int"),
    Field("decline", "Market price decline per year", "×/year", 1, 20, 0.1),
    Field("switching", "Switching elasticity", "", -5, -0.1, 0.05),
    Field("market_elasticity", "Market elasticity", "", -3, 0, 0.05),
    Field("growth", "Demand growth per year", "%", -0.5, 10, 0.05),
    Field("cash", "Starting cash", "$", 0, 1e10, 1e5),
    Field("fixed_costs", "Fixed costs per month", "$", 0, 1e9, 1e4),
    Field("horizon", "Horizon", "months", 6, 120, 1, "int"),
    Field("month_n", "P(cash < 0) by month", "month", 1, 120, 1, "int"),
)


PRESET_KEYS = frozenset(
    {"slug", "name", "description", "source", "sources", "assumptions", "scenario", "strategies"}
)


def load_preset(inputs: dict[str, Any]) -> Preset:
    """A stored preset document (a run's inputs may carry bookkeeping keys such as `replay_of`)."""
    return preset_from_dict({k: v for k, v in inputs.items() if k in PRESET_KEYS})


def _first_cut(s: Scenario) -> PriceCut | None:
    return next((r.cuts[0] for r in s.rivals if r.cuts), None)


def defaults_for(s: Scenario) -> dict[str, Any]:
    cut = _first_cut(s)
    return {
        "price": s.firm.price_usd_per_million_tokens,
        "unit_cost": s.firm.unit_cost_usd_per_million_tokens,
        "rule": s.firm.pricing.rule,
        "rival_cut": round(cut.cut_fraction.central, 2) if cut else 0.0,
        "rival_cut_month": int(round(cut.month.central)) if cut else 3,
        "decline": round(s.market.price_decline_per_year.central, 2),
        "switching": round(s.market.switching_elasticity.central, 2),
        "market_elasticity": round(s.market.market_elasticity.central, 2),
        "growth": round(s.market.demand_growth_per_year_fraction.central, 2),
        "cash": s.firm.starting_cash_usd,
        "fixed_costs": s.firm.fixed_costs_usd_per_month,
        "horizon": s.horizon_months,
        "month_n": min(18, s.horizon_months),
    }


def parse_overrides(params: dict[str, str], defaults: dict[str, Any]) -> tuple[dict[str, Any], FormErrors]:
    errors = FormErrors()
    values: dict[str, Any] = {}
    for f in FIELDS:
        if f.kind == "rule":
            rule = params.get("rule") or defaults["rule"]
            if rule not in OUR_RULES:
                errors["rule"] = f"Choose one of {', '.join(OUR_RULES)}."
            values["rule"] = rule
        elif f.kind == "int":
            values[f.name] = parse_int(
                params, f.name, errors, low=int(f.low), high=int(f.high), default=defaults[f.name]
            )
        else:
            values[f.name] = parse_float(
                params, f.name, errors, low=f.low, high=f.high, default=defaults[f.name]
            )
    if not errors and values["month_n"] > values["horizon"]:
        errors["month_n"] = f"Must be within the horizon ({values['horizon']} months)."
    if not errors and values["rival_cut_month"] > values["horizon"]:
        errors["rival_cut_month"] = f"Must be within the horizon ({values['horizon']} months)."
    return values, errors


def _recentre(r: Range, central: float) -> Range:
    """Move a range so its central value is `central`, keeping its relative spread (or its width at 0)."""
    if r.is_fixed:
        return Range.fixed(central)
    if r.central != 0 and (central / r.central) > 0:
        k = central / r.central
        return Range(r.kind, r.low * k, r.mode * k, r.high * k)
    d = central - r.central
    return Range(r.kind, r.low + d, r.mode + d, r.high + d)


def apply_overrides(s: Scenario, v: dict[str, Any], defaults: dict[str, Any]) -> Scenario:
    firm = dataclasses.replace(
        s.firm,
        price_usd_per_million_tokens=v["price"],
        unit_cost_usd_per_million_tokens=v["unit_cost"],
        starting_cash_usd=v["cash"],
        fixed_costs_usd_per_month=v["fixed_costs"],
        pricing=dataclasses.replace(s.firm.pricing, rule=v["rule"]),
    )
    market = dataclasses.replace(
        s.market,
        price_decline_per_year=_recentre(s.market.price_decline_per_year, v["decline"]),
        switching_elasticity=_recentre(s.market.switching_elasticity, v["switching"]),
        market_elasticity=_recentre(s.market.market_elasticity, v["market_elasticity"]),
        demand_growth_per_year_fraction=_recentre(s.market.demand_growth_per_year_fraction, v["growth"]),
    )
    rivals = s.rivals
    cut_changed = (
        v["rival_cut"] != defaults["rival_cut"] or v["rival_cut_month"] != defaults["rival_cut_month"]
    )
    if cut_changed:
        new = []
        for r in s.rivals:
            if r.cuts:
                first = r.cuts[0]
                scaled = (
                    _recentre(first.cut_fraction, v["rival_cut"])
                    if first.cut_fraction.central > 0
                    else Range.fixed(v["rival_cut"])
                )
                scaled = Range(
                    scaled.kind, *(min(max(x, 0.0), 0.99) for x in (scaled.low, scaled.mode, scaled.high))
                )
                month = (
                    Range.fixed(float(v["rival_cut_month"]))
                    if v["rival_cut_month"] != defaults["rival_cut_month"]
                    else first.month
                )
                cuts = (PriceCut(month=month, cut_fraction=scaled), *r.cuts[1:])
            else:
                cuts = (
                    PriceCut(
                        month=Range.fixed(float(v["rival_cut_month"])),
                        cut_fraction=Range.fixed(v["rival_cut"]),
                    ),
                )
            rule = r.rule if r.rule in ("script", "hold") or not r.cuts else r.rule
            new.append(dataclasses.replace(r, cuts=cuts, rule=rule))
        rivals = tuple(new)
    return dataclasses.replace(s, firm=firm, market=market, rivals=rivals, horizon_months=v["horizon"])


def strategies_of(preset: Preset, scenario: Scenario) -> tuple[Strategy, ...]:
    if preset.strategies:
        return preset.strategies
    base = baseline_strategy(scenario)
    return (base,)


def build(
    inputs: dict[str, Any], params: dict[str, str]
) -> tuple[Preset, Scenario, dict[str, Any], dict[str, Any], FormErrors]:
    """(preset, the scenario with overrides, parsed values, defaults, errors)."""
    preset = load_preset(inputs)
    defaults = defaults_for(preset.scenario)
    values, errors = parse_overrides(params, defaults)
    if errors:
        return preset, preset.scenario, values, defaults, errors
    try:
        scenario = apply_overrides(preset.scenario, values, defaults)
    except ScenarioError as exc:
        errors[field_for(exc.field)] = str(exc)
        return preset, preset.scenario, values, defaults, errors
    return preset, scenario, values, defaults, errors


def field_for(path: str) -> str:
    """The explorer field an engine/service error path points at (price for anything unmapped)."""
    for key, name in (
        ("price_usd", "price"),
        ("unit_cost", "unit_cost"),
        ("cash", "cash"),
        ("fixed", "fixed_costs"),
        ("horizon", "horizon"),
        ("cut", "rival_cut"),
        ("elasticity", "switching"),
    ):
        if key in path:
            return name
    return "price"


_CACHE = BoundedCache(64)
_T = TypeVar("_T")


def _cached(key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
    """Results are pure functions of (scenario, strategies, paths, seed): keep the last few (shared links,
    back-and-forth on a slider)."""
    return _CACHE.get_or_compute(key, compute)


def _linked_key(session: Session, model_id: int, accelerator_id: int) -> tuple[Any, ...]:
    """With a model and an accelerator the service derives the strategies from those rows and the cheapest
    price in effect today: the key carries the stamps of those tables (any edit is a new key) and the date."""
    return (
        database_of(session),
        model_id,
        accelerator_id,
        date.today(),
        *stamp(session, ModelConfig, Accelerator, PriceQuote),
    )


def document(preset: Preset, scenario: Scenario) -> dict[str, Any]:
    """The preset document the simulator service takes as `inputs`: the base preset, overrides applied."""
    return preset_to_dict(dataclasses.replace(preset, scenario=scenario))


def _request(
    preset: Preset, scenario: Scenario, model_id: int | None, accelerator_id: int | None
) -> dict[str, Any]:
    request: dict[str, Any] = {"inputs": document(preset, scenario)}
    if model_id is not None and accelerator_id is not None:
        request.update(model_id=model_id, accelerator_id=accelerator_id)
    return request


def preview(
    session: Session,
    preset: Preset,
    scenario: Scenario,
    paths: int = PREVIEW_PATHS,
    *,
    model_id: int | None = None,
    accelerator_id: int | None = None,
) -> tuple[dict[str, Any], tuple[Strategy, ...]]:
    """(results in their stored JSON form, the strategies actually run), from the simulator service.

    Cached by the scenario's content; with a model and an accelerator also by the state of the rows the
    strategies are derived from (see `_linked_key`)."""
    request = {**_request(preset, scenario, model_id, accelerator_id), "paths_count": paths}

    def run() -> tuple[dict[str, Any], tuple[Strategy, ...]]:
        view = simulations.preview(session, request)
        return view["results"], strategies_from_list(view["inputs"].get("strategies", []))

    key: tuple[Any, ...] = ("sim", repr(scenario), repr(preset.strategies), paths)
    if model_id is not None and accelerator_id is not None:
        key += _linked_key(session, model_id, accelerator_id)
    return _cached(key, run)


def create_run(
    session: Session,
    preset: Preset,
    scenario: Scenario,
    name: str,
    *,
    model_id: int | None = None,
    accelerator_id: int | None = None,
) -> dict[str, Any]:
    """Store a run (the scenario's own path count and seed) through the simulator service."""
    request = {**_request(preset, scenario, model_id, accelerator_id), "name": name}
    return simulations.create_run(session, request)


def tornado_view(
    session: Session,
    preset: Preset,
    scenario: Scenario,
    strategy: str,
    month: int,
    paths: int = TORNADO_PATHS,
    *,
    model_id: int | None = None,
    accelerator_id: int | None = None,
) -> dict[str, Any]:
    """The tornado of one strategy on the median cash at `month`, from the simulator service."""
    request = {
        **_request(preset, scenario, model_id, accelerator_id),
        "tornado": {
            "strategy": strategy,
            "outcome": "cash_at_month",
            "outcome_month": month,
            "paths_count": paths,
        },
    }
    key: tuple[Any, ...] = ("tornado", repr(scenario), repr(preset.strategies), strategy, month, paths)
    if model_id is not None and accelerator_id is not None:
        key += _linked_key(session, model_id, accelerator_id)
    return _cached(key, lambda: simulations.tornado_preview(session, request))


def breakeven_volume(scenario: Scenario) -> float | None:
    form = breakeven_volume_million_tokens_per_month(
        scenario.firm.fixed_costs_usd_per_month,
        scenario.firm.price_usd_per_million_tokens,
        scenario.firm.unit_cost_usd_per_million_tokens,
    )
    return form.value if form.is_finite else None


def saved_inputs(preset: Preset, scenario: Scenario, name: str, description: str) -> dict[str, Any]:
    """A preset document for the new Scenario row: the base preset with the overridden scenario."""
    doc = preset_to_dict(
        dataclasses.replace(
            preset,
            scenario=dataclasses.replace(scenario, name=name),
            name=name,
            description=description or preset.description,
        )
    )
    doc["slug"] = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:60] or "scenario"
    return doc
