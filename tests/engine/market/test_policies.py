"""Pricing rules, ours and the rivals', on deterministic cases (one path, no uncertainty)."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.testing import assert_allclose

from app.engine.market import PriceCut, PricingPolicy, Range, Rival, Scenario, Strategy, run_simulation
from tests.engine.market.test_cash_by_hand import base_scenario

CUTTER = Rival(
    name="Rival",
    price_usd_per_million_tokens=1.50,
    unit_cost_usd_per_million_tokens=Range.fixed(0.30),
    start_share_fraction=0.50,
    rule="script",
    cuts=(PriceCut(month=Range.fixed(2), cut_fraction=Range.fixed(0.5)),),  # 1.50 -> 0.75 in month 2
)


def prices(scenario: Scenario, strategy: Strategy | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    strategy = strategy or Strategy("baseline", 0.50)
    s = run_simulation(scenario, [strategy], np.random.default_rng(0)).strategies[0]
    return s.price_usd_per_million_tokens.p50, [b.p50 for b in s.rival_price_usd_per_million_tokens]


def with_policy(policy: PricingPolicy, rivals: tuple[Rival, ...] = (CUTTER,)) -> Scenario:
    s = base_scenario(pricing=policy, one_off_training_usd=0.0, funding=())
    return dataclasses.replace(s, rivals=rivals)


def test_hold_keeps_the_price() -> None:
    ours, _ = prices(with_policy(PricingPolicy("hold")))
    assert_allclose(ours, [2.0, 2.0, 2.0, 2.0])


def test_match_follows_the_cut_in_percent_one_month_late() -> None:
    # the cheapest rival goes 1.50 -> 0.75 (-50 %) in month 2; we cut 50 % in month 3: 2.00 -> 1.00
    ours, rival = prices(with_policy(PricingPolicy("match")))
    assert_allclose(rival[0], [1.5, 0.75, 0.75, 0.75])
    assert_allclose(ours, [2.0, 2.0, 1.0, 1.0])


def test_undercut_goes_below_the_lowest_price_down_to_the_floor() -> None:
    # 10 % under the lowest rival price of last month, never below cost x 1.2 = 0.60
    ours, _ = prices(
        with_policy(PricingPolicy("undercut", undercut_fraction=0.10, floor_margin_fraction=0.2))
    )
    assert_allclose(ours, [1.35, 1.35, 0.675, 0.675])
    ours, _ = prices(with_policy(PricingPolicy("undercut", undercut_fraction=0.5, floor_margin_fraction=0.2)))
    assert_allclose(ours, [0.75, 0.75, 0.60, 0.60])


def test_floor_prices_at_cost_plus_margin_as_costs_fall() -> None:
    scenario = with_policy(PricingPolicy("floor", floor_margin_fraction=0.5))
    scenario = dataclasses.replace(
        scenario, firm=dataclasses.replace(scenario.firm, cost_decline_per_year=Range.fixed(2.0))
    )
    ours, _ = prices(scenario)
    assert_allclose(ours, [0.75 * 2 ** (-m / 12) for m in range(4)], rtol=1e-6)


def test_premium_charges_the_quality_gap() -> None:
    # beta = 1.5 / (2.00 x 0.75) = 1.0 per $; +10 quality points x 0.05 utility per point = +0.50 $ over the
    # lowest rival price of last month, then +10 % premium
    scenario = with_policy(PricingPolicy("premium", premium_fraction=0.10))
    ours, _ = prices(scenario, Strategy("better", 0.50, quality_delta_points=10.0))
    assert_allclose(ours, [(1.5 + 0.5) * 1.1, (1.5 + 0.5) * 1.1, (0.75 + 0.5) * 1.1, (0.75 + 0.5) * 1.1])


def test_rival_match_keeps_its_gap_and_undercut_chases() -> None:
    follower = Rival("Follower", 1.80, Range.fixed(0.2), 0.1, rule="match")
    chaser = Rival("Chaser", 1.60, Range.fixed(0.2), 0.05, rule="undercut", undercut_fraction=0.25)
    scenario = with_policy(PricingPolicy("hold"), rivals=(CUTTER, follower, chaser))
    _, (cutter, follow, chase) = prices(scenario)
    # The chaser prices 25 % under the lowest other price of last month: month 1 sees today's prices
    # (lowest 1.50) -> 1.125; month 3 sees the cutter's 0.75 -> 0.5625.
    assert_allclose(chase, [1.125, 1.125, 0.5625, 0.5625])
    # The follower started 1.2x its cheapest competitor (1.80 vs 1.50) and keeps that ratio to last month's
    # lowest other price: month 2 -> 1.2 x 1.125, month 3 -> 1.2 x 0.75, month 4 -> 1.2 x 0.5625.
    assert_allclose(follow, [1.8, 1.35, 0.9, 0.675])
    assert_allclose(cutter, [1.5, 0.75, 0.75, 0.75])


def test_subsidy_lets_a_rival_price_below_cost_until_the_budget_is_gone() -> None:
    # cost 1.00; it wants 0.10 (a 95 % cut from 2.00) and may go 80 % below cost while funded: floor 0.20.
    # Its loss per month is 0.80 x its volume; the budget covers about one month.
    rival = Rival(
        "Subsidised",
        2.0,
        Range.fixed(1.0),
        0.5,
        rule="script",
        subsidy_budget_usd=50_000.0,
        subsidy_fraction=0.8,
        cuts=(PriceCut(Range.fixed(1), Range.fixed(0.95)),),
    )
    scenario = dataclasses.replace(with_policy(PricingPolicy("hold"), rivals=(rival,)), horizon_months=4)
    _, (r,) = prices(scenario)
    assert_allclose(r[0], 0.2)
    assert r[-1] == 1.0  # back at cost once the money ran out


def test_rival_costs_can_fall_with_the_market() -> None:
    # A rival holding its list price rides the market's 10x/year decline down to its unit cost; with
    # rival_cost_decline="market" that cost falls 10x/year as well, with "ours" (flat here) it does not.
    rival = Rival("Host", 1.0, Range.fixed(0.5), 0.5)
    base = with_policy(PricingPolicy("hold"), rivals=(rival,))
    market = dataclasses.replace(base.market, price_decline_per_year=Range.fixed(10.0))
    months = np.arange(4)
    _, (ours_rule,) = prices(dataclasses.replace(base, market=market))
    assert_allclose(ours_rule, np.maximum(10.0 ** (-months / 12), 0.5))
    falling = dataclasses.replace(market, rival_cost_decline="market")
    _, (market_rule,) = prices(dataclasses.replace(base, market=falling))
    assert_allclose(market_rule, 10.0 ** (-months / 12), rtol=1e-6)  # the floor 0.5 x 10^(-t/12) is below


def test_the_logit_compares_prices_against_the_going_rate() -> None:
    # The market deflates 10x a year. A rival that rides the trend keeps its share when we ride it too
    # ("match": our price follows the rival's moves), and takes share from us when we hold our price.
    rival = Rival("Rider", 1.5, Range.fixed(0.0), 0.5)
    base = with_policy(PricingPolicy("match"), rivals=(rival,))
    market = dataclasses.replace(
        base.market, price_decline_per_year=Range.fixed(10.0), inertia_per_month_fraction=1.0
    )
    riding = dataclasses.replace(
        base, market=market, firm=dataclasses.replace(base.firm, unit_cost_usd_per_million_tokens=0.0)
    )
    s = run_simulation(riding, [Strategy("baseline", 0.0)], np.random.default_rng(0)).strategies[0]
    # our share of every seller's volume stays 0.25 in month 1 (month 2 on: we follow one month late)
    assert_allclose(s.share_fraction.p50[0], 0.25, rtol=1e-6)
    # from month 2 our price is 2.00 x the trend one month back: a constant deflated gap, a constant share
    assert_allclose(s.share_fraction.p50[1:], s.share_fraction.p50[1], rtol=1e-6)
    assert s.share_fraction.p50[1] < 0.25
    holding = dataclasses.replace(
        riding, firm=dataclasses.replace(riding.firm, pricing=PricingPolicy("hold"))
    )
    h = run_simulation(holding, [Strategy("baseline", 0.0)], np.random.default_rng(0)).strategies[0]
    assert np.all(np.diff(h.share_fraction.p50) < 0)
