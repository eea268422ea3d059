"""What flips the answer (a threshold known by hand) and the logit-Bertrand equilibrium (no profitable
unilateral deviation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.engine.market import Firm, Market, PricingPolicy, Range, Scenario, Strategy, preset_from_dict
from app.engine.market.equilibrium import equilibrium, market_at
from app.engine.market.flips import flip_thresholds
from app.engine.market.sampling import draw_uniforms, sample_inputs

ROOT = Path(__file__).resolve().parents[3]
PRESETS = sorted((ROOT / "app" / "data" / "presets").glob("*.json"))


def hand_scenario() -> Scenario:
    # No rivals, other providers hold half the market, total-market elasticity 0, we hold our price: our
    # volume is 100,000 x 0.5 = 50,000 M tokens a month whatever happens. Gross profit (1 - 0.5 m) x 50,000
    # with m the unit-cost multiplier; fixed costs 35,000 -> burn 10,000 + 25,000 (m - 1) a month.
    # Survival to month 12 needs cash >= 12 x burn. At m's median (1.0) that is 120,000: with 100,000 of cash,
    # half the paths survive only if the multiplier is at most 1 - (10,000 - 100,000/12) / 25,000 = 0.9333.
    return Scenario(
        Firm(1.0, 0.5, 35_000.0, 100_000.0, 0.5, unit_cost_multiplier=Range.uniform(0.8, 1.2)),
        Market(1e5, market_elasticity=Range.fixed(0.0), switching_elasticity=Range.fixed(-1.1)),
        (),
        horizon_months=12,
        paths_count=400,
    )


def test_flip_thresholds_match_the_hand_computed_ones() -> None:
    scenario = hand_scenario()
    analysis = flip_thresholds(
        scenario, Strategy("baseline", 0.5), np.random.default_rng(3), paths_count=400, steps=14
    )
    by_name = {f.input: f for f in analysis.flips}
    # Pinned, the multiplier is the same on every path: survival jumps from 1 to 0 at exactly 0.9333.
    mult = by_name["firm.unit_cost_multiplier"]
    assert mult.threshold == pytest.approx(1 - (10_000 - 100_000 / 12) / 25_000, abs=0.4 / 2**13)
    assert mult.falls_below_when == "above"
    # The other inputs keep the multiplier uncertain: half the paths survive while the 200th smallest of the
    # 400 drawn multipliers (the same draws for every value tried) survives. A path survives iff
    # 12 (F - 50,000 + 25,000 m) <= cash, with F the fixed costs and our volume 0.5 V.
    m = np.sort(
        sample_inputs(scenario, draw_uniforms(scenario, 400, np.random.default_rng(3))).unit_cost_multiplier
    )
    m200 = m[199]
    cash = by_name["firm.starting_cash_usd"]
    assert cash.threshold == pytest.approx(12 * (35_000 - 50_000 + 25_000 * m200), abs=150_000 / 2**13)
    assert cash.falls_below_when == "below"
    fixed = by_name["firm.fixed_costs_usd_per_month"]
    assert fixed.threshold == pytest.approx(100_000 / 12 + 50_000 - 25_000 * m200, abs=52_500 / 2**13)
    assert fixed.falls_below_when == "above"
    volume = by_name["market.volume_million_tokens_per_month"]
    assert volume.threshold == pytest.approx(
        (35_000 - 100_000 / 12) / (0.5 * (1 - 0.5 * m200)), abs=150_000 / 2**13
    )
    assert volume.falls_below_when == "below"
    assert analysis.closest(3)[0].input in by_name


def test_an_input_that_cannot_flip_says_never() -> None:
    scenario = hand_scenario()
    rich = Scenario(
        Firm(1.0, 0.5, 35_000.0, 1e9, 0.5, unit_cost_multiplier=Range.uniform(0.8, 1.2)),
        scenario.market,
        (),
        horizon_months=12,
        paths_count=100,
    )
    analysis = flip_thresholds(rich, Strategy("baseline", 0.5), np.random.default_rng(0), paths_count=100)
    assert all(f.threshold is None and f.falls_below_when is None for f in analysis.flips)
    assert analysis.survival_probability == 1.0 and analysis.closest() == ()


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_no_firm_gains_by_a_unilateral_move_at_the_equilibrium(path: Path) -> None:
    scenario = preset_from_dict(json.loads(path.read_text())).scenario
    eq = equilibrium(scenario)
    assert eq.converged
    m = market_at(scenario)
    prices = np.array(
        [f.price_usd_per_million_tokens for f in eq.firms] + list(m.demand.start_prices[m.named :])
    )
    base = m.profit(prices)
    for j, firm in enumerate(eq.firms):
        assert firm.price_usd_per_million_tokens >= m.floors[j] - 1e-12
        grid = np.linspace(max(m.costs[j], 1e-9), 5 * prices[j], 2_001)
        for p in grid:
            moved = prices.copy()
            moved[j] = p
            assert m.profit(moved)[j] <= base[j] * (1 + 1e-3) + 1e-9, (firm.name, p)
    shares = [f.share_fraction for f in eq.firms]
    assert sum(shares) + eq.other_providers_share_fraction == pytest.approx(1.0)


def test_a_subsidised_rival_never_prices_below_its_floor_in_equilibrium() -> None:
    scenario = preset_from_dict(
        json.loads((ROOT / "app/data/presets/china-may-2024.json").read_text())
    ).scenario
    eq = equilibrium(scenario)
    for firm, rival in zip(eq.firms[1:], scenario.rivals, strict=True):
        floor = rival.unit_cost_usd_per_million_tokens.central * (1 - rival.subsidy_fraction)
        assert firm.price_usd_per_million_tokens >= floor
        assert firm.margin_fraction > 0  # a rational rival prices above its unit cost


def test_best_response_rule_settles_at_the_equilibrium_price() -> None:
    # A single firm against other providers: our best_response rule, damped, converges to the fixed point.
    from app.engine.market import run_simulation

    scenario = Scenario(
        Firm(1.0, 0.3, 0.0, 1e6, 0.3, pricing=PricingPolicy("best_response")),
        Market(1e5, market_elasticity=Range.fixed(-0.5), switching_elasticity=Range.fixed(-2.0)),
        (),
        horizon_months=40,
        paths_count=1,
    )
    s = run_simulation(scenario, [Strategy("b", 0.3)], np.random.default_rng(0)).strategies[0]
    eq = equilibrium(scenario, 0.3)
    assert s.price_usd_per_million_tokens.p50[-1] == pytest.approx(
        eq.firms[0].price_usd_per_million_tokens, rel=1e-4
    )
