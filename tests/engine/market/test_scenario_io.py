"""Validation with named fields, and the dict round trip that JSON columns and preset files rely on."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from app.engine.market import (
    Range,
    ScenarioError,
    Strategy,
    run_simulation,
    scenario_from_dict,
    scenario_to_dict,
    strategies_from_list,
    strategy_to_dict,
)

MINIMAL: dict[str, Any] = {
    "firm": {
        "price_usd_per_million_tokens": 1.0,
        "unit_cost_usd_per_million_tokens": 0.3,
        "fixed_costs_usd_per_month": 50_000,
        "starting_cash_usd": 1_000_000,
        "start_share_fraction": 0.1,
        "cost_decline_per_year": {"dist": "triangular", "low": 1.2, "mode": 2, "high": 4},
        "funding": [{"month": 6, "amount_usd": 500_000}],
        "pricing": {"rule": "undercut", "undercut_fraction": 0.05},
    },
    "market": {
        "volume_million_tokens_per_month": 100_000,
        "price_decline_per_year": {"dist": "lognormal", "low": 3, "high": 40},
    },
    "rivals": [
        {
            "name": "Cheap Co",
            "price_usd_per_million_tokens": 0.8,
            "unit_cost_usd_per_million_tokens": {"dist": "uniform", "low": 0.1, "high": 0.4},
            "start_share_fraction": 0.3,
            "rule": "script",
            "cuts": [
                {"month": 3, "cut_fraction": {"dist": "triangular", "low": 0.9, "mode": 0.95, "high": 0.97}}
            ],
        }
    ],
    "horizon_months": 24,
    "paths_count": 500,
    "seed": 3,
}


def with_change(path: list[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_round_trip() -> None:
    scenario = scenario_from_dict(MINIMAL)
    assert scenario.firm.cost_decline_per_year == Range.triangular(1.2, 2, 4)
    assert scenario.rivals[0].cuts[0].month == Range.fixed(3)
    again = scenario_from_dict(scenario_to_dict(scenario))
    assert again == scenario
    assert scenario_to_dict(again) == scenario_to_dict(scenario)


def test_strategy_round_trip() -> None:
    s = Strategy("quantization", 0.2, 1e5, -0.5, 1200.0, frozenset({"quantization"}))
    assert strategies_from_list([strategy_to_dict(s)]) == (s,)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["paths_count"], 100_001, "paths_count"),
        (["horizon_months"], 121, "horizon_months"),
        (["horizon_months"], 0, "horizon_months"),
        (
            ["rivals"],
            [dict(MINIMAL["rivals"][0], name=f"r{i}", start_share_fraction=0.01) for i in range(21)],
            "rivals",
        ),
        (["firm", "start_share_fraction"], 0.8, "rivals"),  # 0.8 + 0.3 > 1
        (["firm", "price_usd_per_million_tokens"], -1, "firm.price_usd_per_million_tokens"),
        (["firm", "pricing", "rule"], "pray", "firm.pricing.rule"),
        (["firm", "funding", 0, "month"], 30, "firm.funding[0].month"),
        (["firm", "colour"], "red", "firm.colour"),
        (["rivals", 0, "rule"], "nuke", "rivals[0].rule"),
        (["rivals", 0, "cuts", 0, "month"], 40, "rivals[0].cuts[0].month.low"),
        (
            ["rivals", 0, "unit_cost_usd_per_million_tokens"],
            {"dist": "lognormal", "low": -1, "high": 2},
            "rivals[0].unit_cost_usd_per_million_tokens.low",
        ),
        (["market", "switching_elasticity"], 0.5, "market.switching_elasticity.low"),
        (
            ["market", "price_decline_per_year"],
            {"dist": "weird", "low": 1, "high": 2},
            "market.price_decline_per_year.dist",
        ),
        (["market", "volume_million_tokens_per_month"], "lots", "market.volume_million_tokens_per_month"),
        (["firm", "starting_cash_usd"], True, "firm.starting_cash_usd"),
    ],
)
def test_errors_name_the_field(path: list[str | int], value: Any, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(with_change(path, value))
    assert err.value.field == field
    assert isinstance(err.value, ValueError)
    assert err.value.reason


def test_missing_field_is_named() -> None:
    data = copy.deepcopy(MINIMAL)
    del data["firm"]["starting_cash_usd"]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert err.value.field == "firm.starting_cash_usd" and err.value.reason == "is required"


def test_run_limits() -> None:
    scenario = scenario_from_dict(MINIMAL)
    with pytest.raises(ScenarioError) as err:
        run_simulation(scenario, [Strategy("a", 0.3)], np.random.default_rng(0), paths_count=100_001)
    assert err.value.field == "paths_count"
    with pytest.raises(ScenarioError) as err:
        run_simulation(scenario, [Strategy("a", 0.3), Strategy("a", 0.2)], np.random.default_rng(0))
    assert err.value.field == "strategies[1].name"
    with pytest.raises(ScenarioError) as err:
        run_simulation(scenario, [], np.random.default_rng(0))
    assert err.value.field == "strategies"


def test_gpu_capacity_needs_throughput() -> None:
    scenario = scenario_from_dict(with_change(["firm", "capacity_gpu_count"], 8))
    with pytest.raises(ScenarioError) as err:
        run_simulation(scenario, [Strategy("a", 0.3)], np.random.default_rng(0))
    assert err.value.field == "strategies[0].serving_tokens_per_s_per_gpu"
    result = run_simulation(
        scenario, [Strategy("a", 0.3, serving_tokens_per_s_per_gpu=1000.0)], np.random.default_rng(0)
    )
    # 8 GPUs x 1,000 tokens/s x 3,600 s x 730 h x 0.6 utilisation / 1e6 = 12,614.4 M tokens a month
    assert result.strategies[0].capacity_million_tokens_per_month == pytest.approx(12_614.4)
    assert result.strategies[0].volume_million_tokens_per_month.p95.max() <= 12_614.4 + 1e-6
