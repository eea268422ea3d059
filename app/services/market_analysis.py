"""Use cases beside the Monte Carlo run, on the same resolved scenario (services.simulations.resolve):
where prices settle if everyone prices rationally (the logit-Bertrand equilibrium), our profit-versus-price
curve, and what flips the headline answer. Reads only; the transaction ends before the compute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.db.session import end_transaction
from app.engine.market import ScenarioError, Strategy
from app.engine.market.equilibrium import best_response_to, equilibrium, profit_curve
from app.engine.market.flips import flip_thresholds
from app.services.errors import ValidationFailed
from app.services.simulations import Resolved, resolve

FLIP_PATHS = 500
MAX_FLIP_WORK_UNITS = 200_000_000  # runs x paths x months x firms


def _strategy(resolved: Resolved, wanted: str | None, field: str) -> Strategy:
    if not wanted:
        return resolved.strategies[0]
    found = next((s for s in resolved.strategies if s.name == wanted), None)
    if found is None:
        raise ValidationFailed(f"no strategy named {wanted!r} in this run", field=field)
    return found


def _engine(error: ScenarioError, prefix: str) -> ValidationFailed:
    return ValidationFailed(f"{error.field}: {error.reason}", field=f"{prefix}.{error.field}".strip("."))


def equilibria(scenario: Any, unit_cost_usd_per_million_tokens: float, strategy_name: str) -> dict[str, Any]:
    """Nash prices at month 1 and at the horizon for one strategy's unit cost (the explorer's panel)."""
    with np.errstate(all="ignore"):
        first = equilibrium(scenario, unit_cost_usd_per_million_tokens, month=1)
        last = equilibrium(scenario, unit_cost_usd_per_million_tokens, month=scenario.horizon_months)
    return {**first.to_dict(), "strategy": strategy_name, "at_horizon": last.to_dict()}


def flips_for(
    scenario: Any, strategy: Strategy, *, paths_count: int = FLIP_PATHS, steps: int = 6
) -> dict[str, Any]:
    """What flips the answer for one strategy (the explorer and the overview), seeded like the scenario."""
    with np.errstate(all="ignore"):
        analysis = flip_thresholds(
            scenario, strategy, np.random.default_rng(scenario.seed), paths_count=paths_count, steps=steps
        )
    return analysis.to_dict()


def equilibrium_view(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /simulations/equilibrium: Nash prices of the market at month 1 (ours with the chosen strategy's
    unit cost, default the first) and, when the horizon is longer, at the horizon as costs fall."""
    resolved = resolve(session, request)
    end_transaction(session)
    scenario = resolved.preset.scenario
    strategy = _strategy(resolved, request.get("strategy"), "strategy")
    try:
        with np.errstate(all="ignore"):
            first = equilibrium(scenario, strategy.unit_cost_usd_per_million_tokens, month=1)
            last = equilibrium(
                scenario, strategy.unit_cost_usd_per_million_tokens, month=scenario.horizon_months
            )
    except ScenarioError as error:
        raise _engine(error, "inputs") from error
    return {**first.to_dict(), "strategy": strategy.name, "at_horizon": last.to_dict()}


def profit_curves(scenario: Any, strategy_result: Mapping[str, Any], points: int = 81) -> dict[str, Any]:
    """Our gross profit a month against our price, in month 1 and at the horizon, against the rivals' median
    simulated prices of that month and our median unit cost (one strategy's stored results)."""
    out: dict[str, Any] = {"strategy": strategy_result["name"]}
    for label, month in (("month_1", 1), ("horizon", scenario.horizon_months)):
        t = month - 1
        rivals = [float(b["p50"][t]) for b in strategy_result["rival_price_usd_per_million_tokens"]]
        by_month = strategy_result.get("unit_cost_usd_per_million_tokens_by_month")
        cost = (
            float(by_month["p50"][t])
            if by_month
            else float(strategy_result["unit_cost_usd_per_million_tokens"])
        )
        best = best_response_to(scenario, cost, rivals, month=month)
        top = max(3.0 * best, 1.5 * scenario.firm.price_usd_per_million_tokens, cost * 1.5, 1e-9)
        grid = np.linspace(max(cost, 0.0), top, points)
        with np.errstate(all="ignore"):
            profit = profit_curve(scenario, cost, rivals, grid, month=month)
        ours = strategy_result["price_usd_per_million_tokens"]["p50"][t]
        out[label] = {
            "month": month,
            "unit_cost_usd_per_million_tokens": cost,
            "rival_prices_usd_per_million_tokens": rivals,
            "prices_usd_per_million_tokens": [float(x) for x in grid],
            "gross_profit_usd_per_month": [float(x) for x in profit],
            "profit_max_price_usd_per_million_tokens": best,
            "simulated_price_usd_per_million_tokens": None if ours is None else float(ours),
        }
    return out


def profit_curve_view(
    scenario_result: Mapping[str, Any], resolved: Resolved, strategy_name: str | None = None, points: int = 81
) -> dict[str, Any]:
    strategy = _strategy(resolved, strategy_name, "strategy")
    result = next(s for s in scenario_result["strategies"] if s["name"] == strategy.name)
    return profit_curves(resolved.preset.scenario, result, points)


def profit_curve_preview(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /simulations/profit-curve: run the chosen strategy alone (preview paths), then its curves."""
    import dataclasses

    from app.engine.market import run_simulation
    from app.services.simulations import PREVIEW_PATHS

    resolved = resolve(session, request)
    end_transaction(session)
    strategy = _strategy(resolved, request.get("strategy"), "strategy")
    scenario = resolved.preset.scenario
    paths = min(scenario.paths_count, PREVIEW_PATHS)
    try:
        with np.errstate(all="ignore"):
            result = run_simulation(
                scenario, (strategy,), np.random.default_rng(scenario.seed), paths_count=paths
            )
    except ScenarioError as error:
        raise _engine(error, "inputs") from error
    one = dataclasses.replace(resolved, strategies=(strategy,))
    return profit_curve_view(result.to_dict(), one, strategy.name)


def flips_view(
    session: Session,
    request: Mapping[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """POST /simulations/flips: per uncertain input, where the chosen strategy's P(survive) crosses 50 %."""
    resolved = resolve(session, request)
    end_transaction(session)
    scenario = resolved.preset.scenario
    options = request.get("flips") or {}
    strategy = _strategy(resolved, options.get("strategy"), "flips.strategy")
    paths = int(options.get("paths_count", FLIP_PATHS))
    steps = int(options.get("steps", 8))
    runs = 1 + 40 * (2 + steps)
    if runs * paths * scenario.horizon_months * (1 + len(scenario.rivals)) > MAX_FLIP_WORK_UNITS:
        raise ValidationFailed(
            "too much work for one request: use fewer paths or steps", field="flips.paths_count"
        )
    try:
        with np.errstate(all="ignore"):
            analysis = flip_thresholds(
                scenario,
                strategy,
                np.random.default_rng(scenario.seed),
                paths_count=paths,
                level=float(options.get("level_fraction", 0.5)),
                steps=steps,
                progress=progress,
            )
    except ScenarioError as error:
        raise _engine(error, "flips") from error
    return analysis.to_dict()


# --- the 2024 backtest -------------------------------------------------------------------------------------

# The China preset's rivals and the product line each one stands for in the market-price sheet.
CHINA_PRODUCT_LINES: dict[str, tuple[str, str]] = {
    "DeepSeek-V2": ("DeepSeek", "deepseek-chat (DeepSeek-V2)"),
    "Zhipu glm-3-turbo": ("Zhipu AI", "glm-3-turbo"),
    "ByteDance Doubao-pro": ("ByteDance (Volcano Engine)", "doubao-pro-32k"),
    "Alibaba Qwen": ("Alibaba Cloud", "qwen-long"),
    "Baidu ERNIE Speed/Lite": ("Baidu", "ERNIE Speed / ERNIE Lite"),
    "Tencent Hunyuan": ("Tencent Cloud", "hunyuan (various)"),
}
CHINA_FIRST_MONTH = (2024, 5)  # month 1 of the preset is May 2024


def china_backtest(session: Session) -> dict[str, Any]:
    """The China preset's rivals' simulated prices beside their dated list prices in the database."""
    import json

    from sqlalchemy import select

    from app.db.models import MarketPrice
    from app.engine.market import baseline_strategy, preset_from_dict
    from app.engine.market.backtest import Observation, backtest
    from app.services.simulations import PRESET_DIR

    preset = preset_from_dict(json.loads((PRESET_DIR / "china-may-2024.json").read_text(encoding="utf-8")))
    scenario = preset.scenario
    wanted = {line: name for name, line in CHINA_PRODUCT_LINES.items()}
    rows = session.execute(
        select(
            MarketPrice.provider,
            MarketPrice.model_name,
            MarketPrice.effective_date,
            MarketPrice.output_usd_per_million,
            MarketPrice.source,
        ).where(MarketPrice.model_name.in_([m for _, m in CHINA_PRODUCT_LINES.values()]))
    ).all()
    end_transaction(session)
    observations = []
    for provider, model_name, day, price, _source in rows:
        rival = wanted.get((provider, model_name))
        if rival is None or price is None:
            continue
        month = (day.year - CHINA_FIRST_MONTH[0]) * 12 + day.month - CHINA_FIRST_MONTH[1] + 1
        observations.append(Observation(rival, month, float(price), f"{model_name} {day.isoformat()}"))
    with np.errstate(all="ignore"):
        result = backtest(
            scenario, baseline_strategy(scenario), observations, np.random.default_rng(scenario.seed)
        )
    covered = {c.observation.rival for c in result.comparisons}
    return {
        "months": list(result.months),
        "first_month": "2024-05",
        "rival_bands": result.rival_bands,
        "comparisons": [c.to_dict() for c in result.comparisons],
        "inside_fraction": result.inside_fraction,
        "median_abs_log_error": result.median_abs_log_error,
        "rivals_without_prices": [r.name for r in scenario.rivals if r.name not in covered],
        "fitted": [
            f"{r.name}: month-1 cut {r.cuts[0].cut_fraction.central:.0%} (from its May-2024 list price)"
            for r in scenario.rivals
            if r.cuts
        ],
    }


__all__ = [
    "china_backtest",
    "equilibria",
    "equilibrium_view",
    "flips_for",
    "flips_view",
    "profit_curve_preview",
    "profit_curve_view",
    "profit_curves",
]
