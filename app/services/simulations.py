"""Price-war simulations: resolve a scenario (a stored Scenario row or inline inputs) and its strategies,
run the market engine, and store the run (inputs snapshot, seed, results) so it can be replayed exactly.

Inputs are preset documents (app/data/presets/*.json: slug, name, sources, scenario, strategies); a bare
scenario dict is accepted too. Strategies come, in order of preference, from the request, from the cost
engine (app.engine.strategies.lever_strategies, on the scenario's model configuration and accelerator), from
the preset, or are the firm's baseline alone. Reads and flushes; never commits (the request does).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.db.models import Scenario as ScenarioRow
from app.db.models import SimulationRun
from app.db.session import end_transaction
from app.engine.hardware import UnsupportedPrecision
from app.engine.market import (
    Preset,
    ScenarioError,
    Strategy,
    baseline_strategy,
    preset_from_dict,
    preset_to_dict,
    run_simulation,
    scenario_from_dict,
    strategies_from_list,
    summary,
)
from app.engine.market.codec import PRESET_KEYS
from app.engine.market.sampling import slot_ranges
from app.engine.market.sensitivity import NUMERIC_INPUTS, tornado
from app.services import crud, csv_export, ownership
from app.services.errors import NotFoundError, ValidationFailed

PRESET_DIR = Path(__file__).resolve().parent.parent / "data" / "presets"
ENGINE_VERSION = "market-1"
PREVIEW_PATHS = 1_000


# --- presets --------------------------------------------------------------------------------------------


@functools.cache
def _preset_documents() -> tuple[tuple[str, str], ...]:
    return tuple((p.stem, p.read_text(encoding="utf-8")) for p in sorted(PRESET_DIR.glob("*.json")))


def list_presets() -> list[dict[str, Any]]:
    """The shipped presets with their sources (`pricewar seed` stores each as a Scenario row by name)."""
    out = []
    for _slug, text in _preset_documents():
        preset = preset_from_dict(json.loads(text))
        document = preset_to_dict(preset)
        out.append(
            {
                **{
                    key: document[key]
                    for key in ("slug", "name", "description", "source", "sources", "assumptions")
                },
                "horizon_months": preset.scenario.horizon_months,
                "paths_count": preset.scenario.paths_count,
                "rival_count": len(preset.scenario.rivals),
                "strategy_count": len(preset.strategies),
                "inputs": document,
            }
        )
    return out


# --- resolving inputs -----------------------------------------------------------------------------------


def _engine_error(error: ScenarioError, prefix: str) -> ValidationFailed:
    return ValidationFailed(
        f"{error.field}: {error.reason}", field=f"{prefix}.{error.field}" if prefix else error.field
    )


def preset_of(inputs: Mapping[str, Any], *, name: str = "inline scenario", prefix: str = "inputs") -> Preset:
    """A preset document, or a bare scenario dict wrapped as one."""
    if not isinstance(inputs, Mapping):
        raise ValidationFailed("must be an object", field=prefix)
    try:
        if "scenario" in inputs:
            return preset_from_dict({k: v for k, v in inputs.items() if k in PRESET_KEYS})
        scenario = scenario_from_dict(dict(inputs))
    except ScenarioError as error:
        raise _engine_error(error, prefix) from error
    return Preset(
        slug="inline",
        name=scenario.name or name,
        description="",
        sources=("inline inputs",),
        assumptions=(),
        scenario=scenario,
    )


def _cost_engine_strategies(
    session: Session,
    model_id: int,
    accelerator_id: int,
    price_usd_per_gpu_hour: float | None,
    pricing_model: str = "on_demand",
    owned_hardware: Mapping[str, Any] | None = None,
) -> tuple[tuple[Strategy, ...], list[str]]:
    """The 16 lever combinations from the cost engine, as the simulator's Strategy (adapter). The price per
    GPU-hour: given, else the owned cost per used GPU-hour of `owned_hardware` (app/services/ownership.py),
    else the cheapest quote of `pricing_model` in effect."""
    from app.engine.strategies import lever_strategies
    from app.services.estimates import accelerator_spec, model_spec, price

    model, training_tokens = model_spec(session, None, model_id)
    accelerator, acc_id = accelerator_spec(session, None, accelerator_id, None)
    if price_usd_per_gpu_hour is None and owned_hardware is not None:
        usd, price_source = ownership.owned_usd_per_gpu_hour(session, acc_id, owned_hardware)
    else:
        usd, price_source = price(session, price_usd_per_gpu_hour, acc_id, pricing_model)
    if usd is None:
        raise ValidationFailed(
            f"no price for the accelerator ({price_source})", field="price_usd_per_gpu_hour"
        )
    try:
        levers = lever_strategies(model, accelerator, usd, training_tokens=training_tokens)
    except UnsupportedPrecision as error:  # a part that lacks a precision a lever needs: say so, not a 500
        raise ValidationFailed(str(error), field="accelerator_id") from error
    notes = [
        f"strategies: cost engine, {model.name} on {accelerator.name} at ${usd:.4g}/GPU-hour ({price_source})"
    ]
    if levers:
        notes.extend(levers[0].assumptions)
    strategies = []
    for lever in levers:
        if not math.isfinite(lever.unit_cost_usd_per_million_tokens):
            notes.append(f"left out {lever.name}: no serving plan fits (unit cost unknown)")
            continue
        strategies.append(
            Strategy(
                name=lever.name,
                unit_cost_usd_per_million_tokens=lever.unit_cost_usd_per_million_tokens,
                one_off_training_usd=lever.one_off_training_usd,
                quality_delta_points=lever.quality_delta_points,
                serving_tokens_per_s_per_gpu=lever.serving_tokens_per_s_per_gpu or None,
                levers=frozenset(lever.levers),
            )
        )
    if not strategies:
        raise ValidationFailed(
            "the cost engine found no serving plan for this model and accelerator", field="model_id"
        )
    return tuple(strategies), notes


@dataclasses.dataclass(frozen=True)
class Resolved:
    preset: Preset
    strategies: tuple[Strategy, ...]
    strategies_source: str
    notes: tuple[str, ...]
    scenario_id: int | None


def resolve(session: Session, request: Mapping[str, Any]) -> Resolved:
    """Scenario and strategies for a request (see the module docstring for the order of preference)."""
    scenario_id = request.get("scenario_id")
    inputs = request.get("inputs")
    if (scenario_id is None) == (inputs is None):
        raise ValidationFailed("give either scenario_id or inputs", field="scenario_id")
    model_id, accelerator_id = request.get("model_id"), request.get("accelerator_id")
    if scenario_id is not None:
        row = session.get(ScenarioRow, scenario_id)
        if row is None:
            raise NotFoundError(f"scenario {scenario_id} does not exist", field="scenario_id")
        preset = preset_of(row.inputs or {}, name=row.name, prefix="scenario.inputs")
        model_id = model_id or row.model_config_id
        accelerator_id = accelerator_id or row.accelerator_id
    else:
        preset = preset_of(inputs or {})

    scenario = preset.scenario
    overrides = {
        k: request[k] for k in ("paths_count", "seed", "horizon_months") if request.get(k) is not None
    }
    if overrides:
        try:
            scenario = dataclasses.replace(scenario, **overrides)
        except ScenarioError as error:
            raise _engine_error(error, "") from error

    notes: list[str] = []
    if request.get("strategies"):
        try:
            strategies = strategies_from_list(list(request["strategies"]))
        except ScenarioError as error:
            raise _engine_error(error, "") from error
        source = "request"
    elif request.get("use_cost_engine", True) and model_id is not None and accelerator_id is not None:
        strategies, notes = _cost_engine_strategies(
            session,
            model_id,
            accelerator_id,
            request.get("price_usd_per_gpu_hour"),
            request.get("pricing_model") or "on_demand",
            request.get("owned_hardware"),
        )
        source = "cost engine"
        # Our firm's own unit cost becomes the cost engine's baseline figure (the preset's is a default).
        base = next((s for s in strategies if not s.levers), strategies[0])
        firm = dataclasses.replace(
            scenario.firm,
            unit_cost_usd_per_million_tokens=base.unit_cost_usd_per_million_tokens,
            one_off_training_usd=base.one_off_training_usd,
        )
        scenario = dataclasses.replace(scenario, firm=firm)
    elif preset.strategies:
        strategies, source = preset.strategies, "preset"
    else:
        strategies, source = (baseline_strategy(scenario),), "baseline"
    return Resolved(
        dataclasses.replace(preset, scenario=scenario), strategies, source, tuple(notes), scenario_id
    )


# --- running --------------------------------------------------------------------------------------------


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True


# One request may not occupy a worker for long: paths x months x strategies x (1 + rivals) is bounded
# (10,000 x 36 x 16 x 7 = 40M runs in about a second; this allows ~10x that).
MAX_WORK_UNITS = 400_000_000


def _check_work(resolved: Resolved, paths_count: int, max_work_units: int = MAX_WORK_UNITS) -> None:
    scenario = resolved.preset.scenario
    per_path = scenario.horizon_months * len(resolved.strategies) * (1 + len(scenario.rivals))
    if paths_count * per_path > max_work_units:
        raise ValidationFailed(
            f"{paths_count} paths x {scenario.horizon_months} months x {len(resolved.strategies)} strategies "
            f"x {1 + len(scenario.rivals)} firms is too much for one request; use at most "
            f"{max(1, max_work_units // per_path)} paths, fewer strategies or a shorter horizon"
            + ("" if max_work_units >= MAX_WORK_UNITS else " (an editor's budget is larger)"),
            field="paths_count",
        )


def _simulate(
    resolved: Resolved,
    paths_count: int,
    tornado_request: Mapping[str, Any] | None = None,
    max_work_units: int = MAX_WORK_UNITS,
) -> dict[str, Any]:
    _check_work(resolved, paths_count, max_work_units)
    scenario = resolved.preset.scenario
    try:
        with np.errstate(all="ignore"):
            result = run_simulation(
                scenario, resolved.strategies, np.random.default_rng(scenario.seed), paths_count=paths_count
            )
    except ScenarioError as error:
        raise _engine_error(error, "") from error
    results = result.to_dict()
    # Bands carry null for non-finite values; anything else non-finite means the inputs overflowed a formula.
    summary = [{k: v for k, v in s.items() if not isinstance(v, dict | list)} for s in results["strategies"]]
    if not _all_finite(summary) or not all(_all_finite(s["survival_curve"]) for s in results["strategies"]):
        raise ValidationFailed("these inputs overflow the simulation: check the magnitudes", field="inputs")
    if tornado_request:
        results["tornado"] = _tornado(resolved, tornado_request, max_work_units=max_work_units)
    return results


def _tornado(
    resolved: Resolved,
    request: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
    max_work_units: int = MAX_WORK_UNITS,
) -> dict[str, Any]:
    """The sensitivity of one strategy, on its own common random numbers (seeded like the run).
    `progress(done, total)` is called after each of its runs (background jobs: progress and cancel)."""
    wanted = request.get("strategy")
    strategy = (
        next((s for s in resolved.strategies if s.name == wanted), None) if wanted else resolved.strategies[0]
    )
    if strategy is None:
        raise ValidationFailed(f"no strategy named {wanted!r} in this run", field="tornado.strategy")
    scenario = resolved.preset.scenario
    paths = request.get("paths_count", 500)
    variants = 1 + 2 * (sum(not r.is_fixed for r in slot_ranges(scenario).values()) + len(NUMERIC_INPUTS))
    if variants * paths * scenario.horizon_months * (1 + len(scenario.rivals)) > max_work_units:
        raise ValidationFailed(
            f"a tornado of {variants} runs x {paths} paths is too much for one request; use fewer paths",
            field="tornado.paths_count",
        )
    try:
        with np.errstate(all="ignore"):
            result = tornado(
                scenario,
                strategy,
                np.random.default_rng(scenario.seed),
                outcome=request.get("outcome", "cash_at_month"),
                outcome_month=request.get("outcome_month", 24),
                paths_count=paths,
                progress=progress,
            )
    except ScenarioError as error:
        raise _engine_error(error, "tornado") from error
    data = result.to_dict()
    data["bars"] = [b for b in data["bars"] if _all_finite(b)]
    if not _all_finite(data["base_value"]):
        raise ValidationFailed("these inputs overflow the sensitivity: check the magnitudes", field="tornado")
    return data


def _view(
    resolved: Resolved, results: dict[str, Any], paths_count: int, run: SimulationRun | None
) -> dict[str, Any]:
    scenario = resolved.preset.scenario
    return {
        "id": run.id if run else None,
        "name": run.name if run else resolved.preset.name,
        "scenario_id": resolved.scenario_id,
        "seed": scenario.seed,
        "paths_count": paths_count,
        "horizon_months": scenario.horizon_months,
        "engine_version": ENGINE_VERSION,
        "strategies_source": resolved.strategies_source,
        "notes": list(resolved.notes),
        "inputs": _inputs_snapshot(resolved, paths_count),
        "results": results,
    }


def _inputs_snapshot(resolved: Resolved, paths_count: int) -> dict[str, Any]:
    """Everything needed to replay: the preset document with the strategies actually run."""
    preset = dataclasses.replace(
        resolved.preset,
        scenario=dataclasses.replace(resolved.preset.scenario, paths_count=paths_count),
        strategies=resolved.strategies,
    )
    return preset_to_dict(preset)


def preview(
    session: Session, request: Mapping[str, Any], *, max_work_units: int = MAX_WORK_UNITS
) -> dict[str, Any]:
    """POST /simulations/preview: run without storing (1,000 paths unless paths_count is given).

    The inputs are read, then the transaction ends before the compute: a simulation never holds a lock."""
    resolved = resolve(session, request)
    end_transaction(session)
    paths = request.get("paths_count") or min(resolved.preset.scenario.paths_count, PREVIEW_PATHS)
    return _view(resolved, _simulate(resolved, paths, request.get("tornado"), max_work_units), paths, None)


def tornado_preview(
    session: Session, request: Mapping[str, Any], *, max_work_units: int = MAX_WORK_UNITS
) -> dict[str, Any]:
    """POST /simulations/tornado: the sensitivity alone, without storing (the explorer's tornado too).

    The scenario and strategies resolve exactly as for `preview`; `request["tornado"]` chooses the strategy
    (default: the first), the outcome, its month and the paths per variant (default 500)."""
    resolved = resolve(session, request)
    end_transaction(session)
    return _tornado(resolved, request.get("tornado") or {}, max_work_units=max_work_units)


def create_run(
    session: Session, request: Mapping[str, Any], *, max_work_units: int = MAX_WORK_UNITS
) -> dict[str, Any]:
    """POST /simulations: run with the scenario's own path count and seed (or the request's), then store.

    Read the inputs, end that transaction, compute, then store the run in a short new one."""
    resolved = resolve(session, request)
    end_transaction(session)
    paths = resolved.preset.scenario.paths_count
    results = _simulate(resolved, paths, request.get("tornado"), max_work_units)
    scenario = resolved.preset.scenario
    run = crud.create_row(
        session,
        SimulationRun,
        {
            "scenario_id": resolved.scenario_id,
            "name": (request.get("name") or resolved.preset.name)[:160],
            "inputs": _inputs_snapshot(resolved, paths),
            "seed": scenario.seed,
            "path_count": paths,
            "horizon_months": scenario.horizon_months,
            "engine_version": ENGINE_VERSION,
            "results": results,
        },
    )
    return _view(resolved, results, paths, run)


def get_run(session: Session, run_id: int) -> dict[str, Any]:
    run = crud.get_row(session, SimulationRun, run_id)
    inputs = run.inputs if isinstance(run.inputs, dict) else {}
    return {
        "id": run.id,
        "name": run.name,
        "scenario_id": run.scenario_id,
        "seed": run.seed,
        "paths_count": run.path_count,
        "horizon_months": run.horizon_months,
        "engine_version": run.engine_version,
        "strategies_source": "stored",
        "notes": [],
        "inputs": inputs,
        "results": run.results,
    }


# Background jobs (app/services/jobs) run the same steps outside a request: resolve, then compute.
run_tornado = _tornado
inputs_snapshot = _inputs_snapshot
engine_error = _engine_error
all_finite = _all_finite


# --- the month-by-month table ---------------------------------------------------------------------------

monthly_rows = summary.monthly_rows  # one implementation, on the stored (dict) form of the results


def monthly_csv(results: Mapping[str, Any]) -> str:
    """The month-by-month table, through the product's one CSV writer (RFC 4180, formula injection)."""
    rows = monthly_rows(results)
    if not rows:
        return ""
    return csv_export.to_csv(list(rows[0]), (list(row.values()) for row in rows))


def run_csv(session: Session, run_id: int) -> tuple[str, str]:
    """(filename, CSV text) for GET /simulations/{id}?format=csv."""
    run = crud.get_row(session, SimulationRun, run_id)
    return f"simulation-{run.id}.csv", monthly_csv(run.results)


__all__ = [
    "create_run",
    "get_run",
    "list_presets",
    "monthly_csv",
    "preview",
    "resolve",
    "run_csv",
    "tornado_preview",
]
