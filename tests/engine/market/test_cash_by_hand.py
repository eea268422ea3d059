"""Zero-uncertainty cases whose cash paths are worked out by hand, to the cent."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

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
)


def base_scenario(**firm_changes: object) -> Scenario:
    firm = dict(
        price_usd_per_million_tokens=2.00,
        unit_cost_usd_per_million_tokens=0.50,
        fixed_costs_usd_per_month=100_000.0,
        starting_cash_usd=250_000.0,
        start_share_fraction=0.25,
        one_off_training_usd=60_000.0,
        training_spend_months=2,
        amortisation_months=12,
        funding=(FundingEvent(month=3, amount_usd=50_000.0),),
        pricing=PricingPolicy("hold"),
    )
    firm.update(firm_changes)
    return Scenario(
        firm=Firm(**firm),  # type: ignore[arg-type]
        market=Market(
            volume_million_tokens_per_month=400_000.0,
            market_elasticity=Range.fixed(0.0),
            switching_elasticity=Range.fixed(-1.5),
            inertia_per_month_fraction=0.5,
        ),
        rivals=(
            Rival(
                name="Rival",
                price_usd_per_million_tokens=1.50,
                unit_cost_usd_per_million_tokens=Range.fixed(0.30),
                start_share_fraction=0.50,
            ),
        ),
        horizon_months=4,
        paths_count=3,
    )


def cash_paths(scenario: Scenario, strategies: list[Strategy] | None = None) -> np.ndarray:
    strategies = strategies or [Strategy("baseline", 0.50, 60_000.0)]
    result = run_simulation(scenario, strategies, np.random.default_rng(7), keep_cash_paths=True)
    assert result.cash_paths_usd is not None
    return result.cash_paths_usd


def test_flat_market_cash_by_hand() -> None:
    # Prices never move, so shares stay at 25 %: we sell 400,000 x 0.25 = 100,000 M tokens a month.
    # Gross profit (2.00 - 0.50) x 100,000 = 150,000; minus fixed 100,000 -> contribution 50,000.
    # Training 60,000 is paid 30,000 in months 1 and 2; 50,000 of funding arrives in month 3.
    # month 1: 250,000 + 50,000 - 30,000 = 270,000
    # month 2: 270,000 + 50,000 - 30,000 = 290,000
    # month 3: 290,000 + 50,000 + 50,000 = 390,000
    # month 4: 390,000 + 50,000          = 440,000
    paths = cash_paths(base_scenario())
    assert paths.shape == (1, 4, 3)
    for path in paths[0].T:  # every path is identical without uncertainty
        assert_allclose(path, [270_000.00, 290_000.00, 390_000.00, 440_000.00], atol=0.005, rtol=0)

    result = run_simulation(base_scenario(), [Strategy("baseline", 0.50, 60_000.0)], np.random.default_rng(1))
    s = result.strategies[0]
    for band in (s.cash_usd.p5, s.cash_usd.p50, s.cash_usd.p95):
        assert_allclose(band, [270_000.00, 290_000.00, 390_000.00, 440_000.00], atol=0.005, rtol=0)
    assert_allclose(s.volume_million_tokens_per_month.p50, 100_000.0)
    assert_allclose(s.share_fraction.p50, 0.25, rtol=1e-6)  # of every seller's volume (other providers too)
    assert_allclose(s.survival_curve_fraction, 1.0)
    assert s.survival_probability == 1.0
    # operating profit 50,000 - 60,000/12 = 45,000 >= 0 from month 1; payback when 50,000 x m >= 60,000
    assert s.breakeven_month == 1
    assert s.payback_month == 2
    assert s.runway_months is None  # month 1 makes money after the training outlay: no burn
    assert s.death_month is None


def test_cost_decline_and_capacity_by_hand() -> None:
    # Unit cost halves every year: c(m) = 0.50 x 2^(-(m-1)/12). Capacity caps sales at 80,000 M tokens.
    # contribution(m) = (2.00 - c(m)) x 80,000 - 100,000
    scenario = base_scenario(
        cost_decline_per_year=Range.fixed(2.0), capacity_million_tokens_per_month=80_000.0
    )
    c = [0.50 * 2 ** (-(m - 1) / 12) for m in (1, 2, 3, 4)]
    assert_allclose(c, [0.5, 0.47193715634, 0.44544935907, 0.42044820763], rtol=1e-10)
    contribution = [(2.00 - cm) * 80_000 - 100_000 for cm in c]
    # month 1: 250,000 + 20,000.00 - 30,000 = 240,000.00
    # month 2: 240,000 + 22,245.03 - 30,000 = 232,245.03   ((2 - 0.47193716) x 80,000 = 122,245.03)
    # month 3: 232,245.03 + 24,364.05 + 50,000 = 306,609.08
    # month 4: 306,609.08 + 26,364.14 = 332,973.22
    expected = np.cumsum(
        [
            250_000 + contribution[0] - 30_000,
            contribution[1] - 30_000,
            contribution[2] + 50_000,
            contribution[3],
        ]
    )
    assert_allclose(expected, [240_000.00, 232_245.03, 306_609.08, 332_973.22], atol=0.01, rtol=0)
    assert_allclose(cash_paths(scenario)[0, :, 0], expected, atol=0.005, rtol=0)


def test_rival_cut_moves_shares_through_the_logit_by_hand() -> None:
    # The rival cuts 50 % in month 2: 1.50 -> 0.75. Each firm's price coefficient is set on its own start
    # price and share (docs/methodology/market-model.md):
    # alpha_rival = -e_s / (p0 (1 - s0)) = 1.5 / (1.50 x 0.50)
    # = 2.0 per $, so its weight becomes 0.50 x exp(2.0 x 0.75) = 0.50 e^1.5; ours 0.25 (price unchanged);
    # other providers 0.25 (the going price). Total market: kappa = -e_m / eta with
    # eta = sum s_j alpha_j p_j0 = 0.25 x 1.5/0.75 + 0.50 x 1.5/0.50 + 0.25 x 1.5/0.75 = 2.5, kappa = 0.2;
    # the market's expansion E* = exp(kappa IV) = (0.50 + 0.50 e^1.5)^0.2. Our target volume per unit of the
    # reference market is x* = E* x 0.25 / (0.50 + 0.50 e^1.5); inertia closes half the gap each month
    # (on volumes, so the expansion and the switching arrive together): x <- x + 0.5 (x* - x).
    rival = Rival(
        name="Rival",
        price_usd_per_million_tokens=1.50,
        unit_cost_usd_per_million_tokens=Range.fixed(0.30),
        start_share_fraction=0.50,
        rule="script",
        cuts=(PriceCut(month=Range.fixed(2), cut_fraction=Range.fixed(0.5)),),
    )
    base = base_scenario(funding=(), one_off_training_usd=0.0)
    scenario = Scenario(
        firm=base.firm,
        market=Market(
            volume_million_tokens_per_month=400_000.0,
            market_elasticity=Range.fixed(-0.5),
            switching_elasticity=Range.fixed(-1.5),
            inertia_per_month_fraction=0.5,
        ),
        rivals=(rival,),
        horizon_months=4,
        paths_count=2,
    )
    den = 0.25 + 0.50 * math.exp(1.5) + 0.25  # 2.74084454
    expansion = den**0.2  # 1.22342368
    target = expansion * 0.25 / den  # 0.11159185
    x = [0.25]
    for _ in range(3):  # inertia: close half the gap each month
        x.append(x[-1] + 0.5 * (target - x[-1]))
    assert_allclose(x, [0.25, 0.18079593, 0.14619389, 0.12889287], atol=1e-8)
    contribution = [(2.00 - 0.50) * 400_000.0 * v - 100_000 for v in x]
    expected = 250_000 + np.cumsum(contribution)
    # month 1: 250,000 + 150,000 - 100,000 = 300,000.00
    # month 2: + 1.5 x 400,000 x 0.18079593 - 100,000 =  + 8,477.56 -> 308,477.56
    # month 3: + 1.5 x 400,000 x 0.14619389 - 100,000 = - 12,283.67 -> 296,193.89
    # month 4: + 1.5 x 400,000 x 0.12889287 - 100,000 = - 22,664.28 -> 273,529.61
    assert_allclose(expected, [300_000.00, 308_477.56, 296_193.89, 273_529.61], atol=0.01, rtol=0)
    result = run_simulation(
        scenario, [Strategy("baseline", 0.50)], np.random.default_rng(0), keep_cash_paths=True
    )
    assert result.cash_paths_usd is not None
    assert_allclose(result.cash_paths_usd[0, :, 1], expected, atol=0.005, rtol=0)
    s = result.strategies[0]
    assert_allclose(s.rival_price_usd_per_million_tokens[0].p50, [1.50, 0.75, 0.75, 0.75], rtol=1e-6)


def test_death_is_absorbing_and_funding_does_not_revive() -> None:
    # No sales at all (price far above everyone): contribution = -100,000 a month from 250,000 of cash;
    # month 3 ends at -50,000 (dead); in month 4, -50,000 - 100,000 + 200,000 of funding = +50,000, but the
    # firm stays dead.
    scenario = base_scenario(
        one_off_training_usd=0.0,
        funding=(FundingEvent(month=4, amount_usd=200_000.0),),
        capacity_million_tokens_per_month=0.0,
    )
    result = run_simulation(
        scenario, [Strategy("baseline", 0.50)], np.random.default_rng(0), keep_cash_paths=True
    )
    assert result.cash_paths_usd is not None
    assert_allclose(result.cash_paths_usd[0, :, 0], [150_000, 50_000, -50_000, 50_000], atol=0.005)
    s = result.strategies[0]
    assert_allclose(s.survival_curve_fraction, [1, 1, 0, 0])
    assert s.death_month == 3
    assert s.survival_probability == 0.0
    assert s.runway_months == 2.5  # 250,000 of cash (no one-off spend) / 100,000 operating burn
    assert s.breakeven_month is None


def test_month_by_month_table() -> None:
    result = run_simulation(base_scenario(), [Strategy("baseline", 0.50, 60_000.0)], np.random.default_rng(1))
    rows = result.monthly_rows()
    assert [r["month"] for r in rows] == [1, 2, 3, 4]
    assert [r["cash_usd_p50"] for r in rows] == pytest.approx([270_000, 290_000, 390_000, 440_000], abs=0.005)
    assert rows[0]["rival_price_usd_per_million_tokens_Rival_p50"] == 1.5
    assert rows[0]["survival_fraction"] == 1.0
