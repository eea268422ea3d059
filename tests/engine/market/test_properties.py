"""Properties of the simulator, each checked where it is a theorem of the model (stated per test).

Common random numbers make these exact: two runs with the same seed see the same draws, so a monotone
change of one input moves every path the same way, not just the averages.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.market import (
    Firm,
    FundingEvent,
    Market,
    PriceCut,
    PricingPolicy,
    Range,
    Rival,
    Scenario,
    Strategy,
    run_simulation,
    scenario_to_dict,
)

FAST = settings(max_examples=25, deadline=None)


def scenario_from(
    seed: int,
    *,
    policy: str,
    rival_rules: tuple[str, ...],
    subsidies: bool,
    market_elasticity: float | None = None,
    rivals_cheaper: bool = False,
) -> Scenario:
    """A random but valid scenario: uncertain inputs everywhere, 0-4 rivals."""
    r = random.Random(seed)
    n = len(rival_rules)
    shares = [r.uniform(0.05, 0.8 / (n + 1)) for _ in range(n + 1)]
    price = r.uniform(0.5, 3.0)
    rival_prices = [price * r.uniform(0.3, 1.0 if rivals_cheaper else 2.0) for _ in rival_rules]
    rivals = tuple(
        Rival(
            name=f"rival{i}",
            price_usd_per_million_tokens=rival_prices[i],
            # today's prices cover unit costs (a subsidised cut may still go below them)
            unit_cost_usd_per_million_tokens=Range.triangular(
                0.1 * rival_prices[i], 0.3 * rival_prices[i], 0.6 * rival_prices[i]
            ),
            start_share_fraction=shares[i + 1],
            rule=rule,  # type: ignore[arg-type]
            undercut_fraction=r.uniform(0, 0.3),
            subsidy_budget_usd=r.uniform(0, 5e6) if subsidies else 0.0,
            subsidy_fraction=r.uniform(0, 0.9) if subsidies else 0.0,
            quality_points=r.uniform(-5, 5),
            cuts=(PriceCut(Range.triangular(1, 3, 8), Range.triangular(0.2, 0.5, 0.9)),)
            if rule == "script"
            else (),
        )
        for i, rule in enumerate(rival_rules)
    )
    e_market = (
        Range.triangular(-0.5, -0.3, -0.1) if market_elasticity is None else Range.fixed(market_elasticity)
    )  # no more elastic than switching allows (kappa <= 1, Scenario validation)
    return Scenario(
        firm=Firm(
            price_usd_per_million_tokens=price,
            unit_cost_usd_per_million_tokens=price * r.uniform(0.1, 0.9),
            fixed_costs_usd_per_month=r.uniform(1e4, 3e5),
            starting_cash_usd=r.uniform(1e5, 3e6),
            start_share_fraction=shares[0],
            cost_decline_per_year=Range.triangular(1.0, 1.5, 3.0),
            unit_cost_multiplier=Range.triangular(0.9, 1.0, 1.1) if policy != "hold" else Range.fixed(1.0),
            one_off_training_usd=r.uniform(0, 1e6),
            funding=(FundingEvent(r.randint(1, 12), r.uniform(0, 1e6)),),
            pricing=PricingPolicy(policy, floor_margin_fraction=r.uniform(0, 0.3)),  # type: ignore[arg-type]
        ),
        market=Market(
            volume_million_tokens_per_month=r.uniform(1e4, 1e6),
            market_elasticity=e_market,
            switching_elasticity=Range.triangular(-3.0, -1.1, -0.5),
            demand_growth_per_year_fraction=Range.triangular(0.0, 0.5, 2.0),
            price_decline_per_year=Range.lognormal(1.5, 10.0),
            inertia_per_month_fraction=r.uniform(0.2, 1.0),
        ),
        rivals=rivals,
        horizon_months=18,
        paths_count=64,
    )


STRATEGIES = [
    Strategy("baseline", 1.0),
    Strategy("cheap", 0.6, 200_000.0, -1.0),
    Strategy("dear", 1.3, 0.0, 2.0),
]


def strategies_for(scenario: Scenario) -> list[Strategy]:
    c = scenario.firm.unit_cost_usd_per_million_tokens
    return [
        dataclasses.replace(s, unit_cost_usd_per_million_tokens=s.unit_cost_usd_per_million_tokens * c)
        for s in STRATEGIES
    ]


def curves(scenario: Scenario, strategies: list[Strategy] | None = None, seed: int = 3) -> np.ndarray:
    result = run_simulation(scenario, strategies or strategies_for(scenario), np.random.default_rng(seed))
    return np.array([s.survival_curve_fraction for s in result.strategies])


rules = st.lists(st.sampled_from(["hold", "match", "undercut", "best_response", "script"]), max_size=4).map(
    tuple
)
exogenous_rules = st.lists(st.sampled_from(["hold", "match", "undercut", "script"]), max_size=4).map(tuple)
policies = st.sampled_from(["hold", "match", "undercut", "floor", "premium"])


@FAST
@given(seed=st.integers(0, 10_000), policy=policies, rival_rules=rules, extra=st.floats(1.0, 5e6))
def test_more_starting_cash_never_lowers_survival(
    seed: int, policy: str, rival_rules: tuple[str, ...], extra: float
) -> None:
    # Holds for every policy and rule: nobody's decisions depend on our cash.
    scenario = scenario_from(seed, policy=policy, rival_rules=rival_rules, subsidies=True)
    richer = dataclasses.replace(
        scenario,
        firm=dataclasses.replace(scenario.firm, starting_cash_usd=scenario.firm.starting_cash_usd + extra),
    )
    assert np.all(curves(richer) >= curves(scenario))


def cheaper_by(strategies: list[Strategy], cut: float) -> list[Strategy]:
    """The same strategies with every unit cost cut by the fraction `cut`."""
    return [
        dataclasses.replace(
            s, unit_cost_usd_per_million_tokens=s.unit_cost_usd_per_million_tokens * (1 - cut)
        )
        for s in strategies
    ]


@FAST
@given(seed=st.integers(0, 10_000), rival_rules=rules, cut=st.floats(0.01, 0.99))
def test_lower_unit_cost_never_lowers_survival(seed: int, rival_rules: tuple[str, ...], cut: float) -> None:
    # Theorem for a firm that holds its price: rivals react to our price, which the cost does not move,
    # so the market is the same on every path and only our margin per token grows.
    scenario = scenario_from(seed, policy="hold", rival_rules=rival_rules, subsidies=True)
    strategies = strategies_for(scenario)
    assert np.all(curves(scenario, cheaper_by(strategies, cut)) >= curves(scenario, strategies))


@FAST
@given(
    seed=st.integers(0, 10_000),
    policy=st.sampled_from(["match", "undercut", "premium"]),
    rival_rules=rules,
    cut=st.floats(0.01, 0.99),
)
def test_lower_unit_cost_never_lowers_survival_when_the_floor_does_not_bind(
    seed: int, policy: str, rival_rules: tuple[str, ...], cut: float
) -> None:
    # With a zero floor (margin -100 %) our price follows the rivals only, so again the whole market is
    # the same on every path and a cheaper token only adds margin.
    scenario = scenario_from(seed, policy=policy, rival_rules=rival_rules, subsidies=True)
    firm = scenario.firm
    scenario = dataclasses.replace(
        scenario,
        firm=dataclasses.replace(firm, pricing=dataclasses.replace(firm.pricing, floor_margin_fraction=-1.0)),
    )
    strategies = strategies_for(scenario)
    assert np.all(curves(scenario, cheaper_by(strategies, cut)) >= curves(scenario, strategies))


@FAST
@given(
    seed=st.integers(0, 10_000),
    rival_rules=exogenous_rules,
    steeper=st.floats(1.01, 20.0),
    rival_costs=st.sampled_from(["ours", "market"]),
)
def test_steeper_market_price_decline_never_raises_survival(
    seed: int, rival_rules: tuple[str, ...], steeper: float, rival_costs: str
) -> None:
    # Theorem when we hold a price above our cost, the market volume does not respond to the price index
    # (market elasticity 0), rivals follow prices only (no best response), have no subsidy budget (a
    # budget that runs out sooner would push their prices back up), start at or below our price and
    # above their cost, and prices only fall (d >= 1). Then, in the deflated logit, each rival's price
    # gap to us only widens with a steeper decline, and our held price loses to the outside option too:
    # our share falls path by path.
    scenario = scenario_from(
        seed,
        policy="hold",
        rival_rules=rival_rules,
        subsidies=False,
        market_elasticity=0.0,
        rivals_cheaper=True,
    )
    scenario = dataclasses.replace(
        scenario,
        market=dataclasses.replace(
            scenario.market,
            rival_cost_decline=rival_costs,  # type: ignore[arg-type]
            price_decline_per_year=Range.triangular(1.0, 3.0, 12.0),
        ),
    )
    faster = dataclasses.replace(
        scenario,
        market=dataclasses.replace(
            scenario.market, price_decline_per_year=Range.triangular(steeper, 3.0 * steeper, 12.0 * steeper)
        ),
    )
    above_cost = [
        s
        for s in strategies_for(scenario)
        if s.unit_cost_usd_per_million_tokens <= scenario.firm.price_usd_per_million_tokens
    ]
    assert np.all(curves(faster, above_cost) <= curves(scenario, above_cost))


@FAST
@given(seed=st.integers(0, 10_000), policy=policies, rival_rules=rules)
def test_same_seed_same_result(seed: int, policy: str, rival_rules: tuple[str, ...]) -> None:
    scenario = scenario_from(seed, policy=policy, rival_rules=rival_rules, subsidies=True)
    a = run_simulation(scenario, strategies_for(scenario), np.random.default_rng(11)).to_dict()
    b = run_simulation(scenario, strategies_for(scenario), np.random.default_rng(11)).to_dict()
    assert a == b


@FAST
@given(seed=st.integers(0, 10_000), policy=policies, rival_rules=rules, order=st.permutations(range(3)))
def test_permuting_strategies_permutes_results_only(
    seed: int, policy: str, rival_rules: tuple[str, ...], order: list[int]
) -> None:
    scenario = scenario_from(seed, policy=policy, rival_rules=rival_rules, subsidies=True)
    strategies = strategies_for(scenario)
    a = run_simulation(scenario, strategies, np.random.default_rng(5)).to_dict()
    b = run_simulation(scenario, [strategies[i] for i in order], np.random.default_rng(5)).to_dict()
    by_name = {s["name"]: s for s in b["strategies"]}
    for s in a["strategies"]:
        assert by_name[s["name"]] == s
    assert a["ranking_by_survival"] == b["ranking_by_survival"]


@FAST
@given(seed=st.integers(0, 10_000), policy=policies, rival_rules=rules, order=st.permutations(range(6)))
def test_results_do_not_depend_on_the_group_a_strategy_runs_in(
    seed: int, policy: str, rival_rules: tuple[str, ...], order: list[int]
) -> None:
    # Groups of 2 strategies (instead of ~40,000 strategy-paths): permuting 6 strategies regroups them,
    # and rivals whose subsidy runs out on some paths switch representation in some groups only.
    from unittest import mock

    import app.engine.market.simulation as simulation

    scenario = scenario_from(seed, policy=policy, rival_rules=rival_rules, subsidies=True)
    base = strategies_for(scenario)
    strategies = base + [
        dataclasses.replace(
            s,
            name=f"{s.name}-b",
            unit_cost_usd_per_million_tokens=s.unit_cost_usd_per_million_tokens * 0.8,
            quality_delta_points=s.quality_delta_points + 1.0,
        )
        for s in base
    ]
    with mock.patch.object(simulation, "_GROUP_ELEMENTS", 2 * scenario.paths_count):
        a = run_simulation(scenario, strategies, np.random.default_rng(5)).to_dict()
        b = run_simulation(scenario, [strategies[i] for i in order], np.random.default_rng(5)).to_dict()
    by_name = {s["name"]: s for s in b["strategies"]}
    for s in a["strategies"]:
        assert by_name[s["name"]] == s


def test_groups_of_strategies_share_paths() -> None:
    # 9 strategies run in groups; identical strategies in different groups must give identical results.
    scenario = scenario_from(1, policy="match", rival_rules=("script", "match"), subsidies=True)
    base = strategies_for(scenario)[0]
    many = [dataclasses.replace(base, name=f"copy{i}") for i in range(9)]
    result = run_simulation(scenario, many, np.random.default_rng(2))
    first = {k: v for k, v in result.strategies[0].to_dict().items() if k != "name"}
    for s in result.strategies[1:]:
        assert {k: v for k, v in s.to_dict().items() if k != "name"} == first


def test_uncertainty_spreads_the_bands_and_percentiles_are_ordered() -> None:
    scenario = scenario_from(42, policy="undercut", rival_rules=("script", "best_response"), subsidies=True)
    s = run_simulation(scenario, strategies_for(scenario), np.random.default_rng(0)).strategies[0]
    for bands in (s.cash_usd, s.price_usd_per_million_tokens, s.revenue_usd_per_month):
        stacked = np.array([bands.p5, bands.p25, bands.p50, bands.p75, bands.p95])
        assert np.all(np.diff(stacked, axis=0) >= -1e-6 * (1 + np.abs(stacked[1:])))
    assert s.cash_usd.p95[-1] > s.cash_usd.p5[-1]
    assert np.all(np.diff(s.survival_curve_fraction) <= 0)


def test_scenarios_here_round_trip() -> None:
    from app.engine.market import scenario_from_dict

    scenario = scenario_from(9, policy="premium", rival_rules=("script", "undercut"), subsidies=True)
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario


def test_lever_contributions_average_the_matched_pairs() -> None:
    from app.engine.market.summary import lever_contributions

    scenario = scenario_from(3, policy="hold", rival_rules=("hold",), subsidies=False)
    c = scenario.firm.unit_cost_usd_per_million_tokens
    strategies = [
        Strategy("baseline", c),
        Strategy("q", c * 0.5, levers=frozenset({"quantization"})),
        Strategy("t", c, 1e5, 2.0, levers=frozenset({"transfer"})),
        Strategy("q+t", c * 0.5, 1e5, 2.0, levers=frozenset({"quantization", "transfer"})),
    ]
    result = run_simulation(scenario, strategies, np.random.default_rng(0))
    by = {s.name: s for s in result.strategies}
    contributions = {x.lever: x for x in lever_contributions(result.strategies)}
    q = contributions["quantization"]
    assert q.pairs_count == 2
    expected = (
        (by["q"].cash_at_horizon_p50_usd - by["baseline"].cash_at_horizon_p50_usd)
        + (by["q+t"].cash_at_horizon_p50_usd - by["t"].cash_at_horizon_p50_usd)
    ) / 2
    assert q.cash_at_horizon_p50_usd_delta == pytest.approx(expected)
    assert q.cash_at_horizon_p50_usd_delta > 0  # a cheaper unit cost at a held price only adds margin
    assert [x["lever"] for x in result.to_dict()["lever_contributions"]] == ["quantization", "transfer"]


def test_sorting_thread_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.engine.market.simulation as simulation

    scenario = scenario_from(
        5, policy="match", rival_rules=("script", "match", "best_response"), subsidies=True
    )
    monkeypatch.setattr(simulation, "_THREAD_ELEMENTS", 10**12)
    alone = run_simulation(scenario, strategies_for(scenario), np.random.default_rng(4)).to_dict()
    monkeypatch.setattr(simulation, "_THREAD_ELEMENTS", 1)
    threaded = run_simulation(scenario, strategies_for(scenario), np.random.default_rng(4)).to_dict()
    assert threaded == alone
