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
from app.engine.market.codec import (
    PRESET_KEYS,
    Preset,
    preset_from_dict,
    preset_to_dict,
    strategies_from_list,
)
from app.engine.market.errors import ScenarioError
from app.engine.market.scenario import (
    OUR_RULES,
    PriceCut,
    Range,
    Rival,
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
    """One explorer input: the form control, its bounds and the parser both come from here (one source)."""

    name: str
    label: str
    unit: str  # shown after the slider's value
    low: float
    high: float
    step: float
    kind: str = "float"  # float | int | money (a number box) | rule | rival (select boxes)
    group: str = "market"  # the fieldset: us | market | horizon
    scale: float = 1.0  # the slider shows value × scale (fractions as percent)
    digits: int = 2
    hint: str = ""
    within_horizon: bool = False  # a month: at most the horizon being simulated
    grows_with_default: bool = False  # the range reaches 3 × the scenario's own value if that is larger


MAX_HORIZON_MONTHS = 120

FIELDS: tuple[Field, ...] = (
    Field("price", "Our price ($ per 1M tokens)", "", 0.01, 20, 0.01, group="us", grows_with_default=True),
    Field(
        "unit_cost",
        "Our unit cost ($ per 1M tokens)",
        "",
        0.01,
        10,
        0.01,
        group="us",
        grows_with_default=True,
    ),
    Field("rule", "Our pricing rule", "", 0, 0, 0, "rule", group="us"),
    Field("cash", "Starting cash ($)", "", 0, 1e10, 100_000, "money", group="us"),
    Field("fixed_costs", "Fixed costs per month ($)", "", 0, 1e9, 10_000, "money", group="us"),
    Field(
        "cut_rival",
        "Who cuts",
        "",
        0,
        0,
        0,
        "rival",
        hint="Every rival: each rival's first scripted cut moves (its uncertainty keeps its spread); rivals "
        "without one get this cut. One rival: only that rival cuts by this much in this month.",
    ),
    Field("rival_cut", "Price cut", " %", 0, 0.99, 0.01, scale=100, digits=0),
    Field(
        "rival_cut_month",
        "Month of the cut",
        "",
        1,
        MAX_HORIZON_MONTHS,
        1,
        "int",
        digits=0,
        within_horizon=True,
    ),
    Field("decline", "Market price decline (× per year)", "×", 1, 20, 0.1, digits=1),
    Field("switching", "Switching elasticity", "", -5, -0.1, 0.05),
    Field("market_elasticity", "Market elasticity", "", -3, 0, 0.05),
    Field("growth", "Demand growth per year", " %", -0.5, 10, 0.05, scale=100, digits=0),
    Field("horizon", "Months simulated", "", 6, MAX_HORIZON_MONTHS, 1, "int", group="horizon", digits=0),
    Field(
        "month_n",
        "P(cash < 0) by month",
        "",
        1,
        MAX_HORIZON_MONTHS,
        1,
        "int",
        group="horizon",
        digits=0,
        within_horizon=True,
    ),
)
FIELD_GROUPS: tuple[tuple[str, str], ...] = (
    ("us", "Us"),
    ("market", "Rivals and market"),
    ("horizon", "Horizon"),
)


def bounds(f: Field, values: dict[str, Any], defaults: dict[str, Any]) -> tuple[float, float]:
    """(low, high) of a field for this scenario and horizon: the slider's range and the parser's bounds."""
    high = f.high
    if f.grows_with_default and isinstance(defaults.get(f.name), int | float):
        high = max(high, round(defaults[f.name] * 3, 2))
    if f.within_horizon:
        horizon = values.get("horizon") or defaults.get("horizon")
        if isinstance(horizon, int):
            high = min(high, horizon)
    return f.low, high


def rival_choices(s: Scenario) -> list[tuple[str, str]]:
    """(value, label) of the "who cuts" choice: every rival, or one of them (1-based, as in the URL)."""
    return [("", "every rival"), *((str(i + 1), r.name) for i, r in enumerate(s.rivals))]


def load_preset(inputs: dict[str, Any]) -> Preset:
    """A stored preset document (a run's inputs may carry bookkeeping keys such as `replay_of`)."""
    return preset_from_dict({k: v for k, v in inputs.items() if k in PRESET_KEYS})


def _first_cut(s: Scenario, target: int = 0) -> PriceCut | None:
    """The first scripted cut of rival `target` (1-based), or of the first rival with one (target 0)."""
    if target:
        rival = s.rivals[target - 1]
        return rival.cuts[0] if rival.cuts else None
    return next((r.cuts[0] for r in s.rivals if r.cuts), None)


def defaults_for(s: Scenario, target: int = 0) -> dict[str, Any]:
    cut = _first_cut(s, target)
    return {
        "price": s.firm.price_usd_per_million_tokens,
        "unit_cost": s.firm.unit_cost_usd_per_million_tokens,
        "rule": s.firm.pricing.rule,
        "cut_rival": "",
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


def parse_rival(params: dict[str, str], s: Scenario, errors: FormErrors) -> int:
    """Who cuts: 0 for every rival, i for rival i (1-based)."""
    text = (params.get("cut_rival") or "").strip()
    if not text:
        return 0
    if text.isdigit() and 1 <= int(text) <= len(s.rivals):
        return int(text)
    errors["cut_rival"] = f"Choose every rival or one of the {len(s.rivals)} rivals."
    return 0


def parse_overrides(
    params: dict[str, str], defaults: dict[str, Any], target: int = 0
) -> tuple[dict[str, Any], FormErrors]:
    """The explorer's inputs: a missing parameter is the scenario's value (a link carries only changes); a
    parameter sent empty is an error (a cleared box never silently becomes the default)."""
    errors = FormErrors()
    values: dict[str, Any] = {"cut_rival": str(target) if target else ""}
    ordered = sorted(FIELDS, key=lambda f: not (f.name == "horizon"))  # months are bounded by the horizon
    for f in ordered:
        if f.kind == "rival":
            continue
        if f.name in params and not params[f.name].strip():
            errors[f.name] = "Needs a value (leave it out of the link to use the scenario's own)."
            continue
        if f.kind == "rule":
            rule = params.get("rule") or defaults["rule"]
            if rule not in OUR_RULES:
                errors["rule"] = f"Choose one of {', '.join(OUR_RULES)}."
            values["rule"] = rule
            continue
        low, high = (f.low, f.high) if f.within_horizon else bounds(f, values, defaults)
        if f.kind == "int":
            values[f.name] = parse_int(
                params, f.name, errors, low=int(low), high=int(high), default=defaults[f.name]
            )
        else:
            values[f.name] = parse_float(params, f.name, errors, low=low, high=high, default=defaults[f.name])
        if f.within_horizon and f.name not in errors and isinstance(values.get("horizon"), int):
            if values[f.name] > values["horizon"]:
                errors[f.name] = f"Must be within the horizon ({values['horizon']} months)."
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
    target = int(v.get("cut_rival") or 0)
    cut_changed = (
        v["rival_cut"] != defaults["rival_cut"] or v["rival_cut_month"] != defaults["rival_cut_month"]
    )
    rivals = s.rivals
    if target:  # one rival cuts by this much in this month; the others keep their own scripts
        rivals = tuple(
            _with_cut(r, v, defaults, one_rival=True) if i == target - 1 else r
            for i, r in enumerate(s.rivals)
        )
    elif cut_changed:
        rivals = tuple(_with_cut(r, v, defaults, one_rival=False) for r in s.rivals)
    return dataclasses.replace(s, firm=firm, market=market, rivals=rivals, horizon_months=v["horizon"])


def _with_cut(r: Rival, v: dict[str, Any], defaults: dict[str, Any], *, one_rival: bool) -> Rival:
    """Rival `r` with its first scripted cut set to the explorer's depth and month: the depth keeps the
    cut's uncertainty (recentred), the month stays uncertain unless it was moved; a rival without a cut gets
    a fixed one. With `one_rival`, the month is the one shown (the chosen rival's own or the user's)."""
    if not r.cuts:
        cut = PriceCut(
            month=Range.fixed(float(v["rival_cut_month"])), cut_fraction=Range.fixed(v["rival_cut"])
        )
        return dataclasses.replace(r, cuts=(cut,))
    first = r.cuts[0]
    depth = (
        _recentre(first.cut_fraction, v["rival_cut"])
        if first.cut_fraction.central > 0
        else Range.fixed(v["rival_cut"])
    )
    depth = Range(depth.kind, *(min(max(x, 0.0), 0.99) for x in (depth.low, depth.mode, depth.high)))
    month_moved = v["rival_cut_month"] != defaults["rival_cut_month"]
    month = Range.fixed(float(v["rival_cut_month"])) if month_moved else first.month
    return dataclasses.replace(r, cuts=(PriceCut(month=month, cut_fraction=depth), *r.cuts[1:]))


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
    rival_errors = FormErrors()
    target = parse_rival(params, preset.scenario, rival_errors)
    defaults = defaults_for(preset.scenario, target)
    values, errors = parse_overrides(params, defaults, target)
    errors.update(rival_errors)
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
