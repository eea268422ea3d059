"""The closed forms in docs/methodology/market-model.md, 'Pricing rules': uplift, break-even, payback."""

import math

import pytest

from app.engine.market import (
    ScenarioError,
    breakeven_volume_million_tokens_per_month,
    payback_months,
    profit_max_price_usd_per_million_tokens,
    required_volume_uplift_fraction,
)


def test_sixty_percent_margin_and_twenty_percent_cut_need_fifty_percent_more_volume() -> None:
    answer = required_volume_uplift_fraction(margin_fraction=0.60, cut_fraction=0.20)
    assert answer.value == pytest.approx(0.50)  # 0.2 / (0.6 - 0.2)
    assert answer.reason is None and answer.is_finite


@pytest.mark.parametrize("cut", [0.60, 0.75, 1.0])
def test_a_cut_at_or_above_the_margin_never_pays(cut: float) -> None:
    answer = required_volume_uplift_fraction(margin_fraction=0.60, cut_fraction=cut)
    assert answer.value == math.inf
    assert answer.reason and "never" in answer.reason
    assert answer.to_dict() == {"value": None, "reason": answer.reason}


@pytest.mark.parametrize(("m", "x", "expected"), [(0.5, 0.1, 0.25), (0.8, 0.4, 1.0), (0.3, 0.0, 0.0)])
def test_uplift_other_cases(m: float, x: float, expected: float) -> None:
    assert required_volume_uplift_fraction(m, x).value == pytest.approx(expected)


def test_uplift_keeps_contribution() -> None:
    # p = 1, c = 0.4 (m = 0.6); cut 20 % -> p = 0.8, unit margin 0.4 instead of 0.6: 1.5x the volume
    p, c, x = 1.0, 0.4, 0.2
    uplift = required_volume_uplift_fraction((p - c) / p, x).value
    assert (p * (1 - x) - c) * (1 + uplift) == pytest.approx(p - c)


def test_breakeven_volume() -> None:
    assert breakeven_volume_million_tokens_per_month(100_000, 2.0, 0.5).value == pytest.approx(66_666.6667)
    never = breakeven_volume_million_tokens_per_month(100_000, 0.5, 0.5)
    assert never.value == math.inf and never.reason


def test_profit_max_price_is_the_top_of_the_models_own_profit_curve() -> None:
    """The Lerner price c e / (1 + e) is gone: the closed form is the simulator's own profit maximum."""
    import numpy as np

    from app.engine.market.equilibrium import _month_one_rival_prices, profit_curve
    from tests.engine.market.test_cash_by_hand import base_scenario

    scenario = base_scenario()
    best = profit_max_price_usd_per_million_tokens(scenario, 0.5).value
    grid = np.linspace(0.5, 10.0, 40_001)
    curve = profit_curve(scenario, 0.5, _month_one_rival_prices(scenario), grid)
    assert best == pytest.approx(grid[int(np.argmax(curve))], abs=grid[1] - grid[0])


def test_payback_months() -> None:
    assert payback_months(5_576_000, 1_000_000).value == pytest.approx(5.576)  # DeepSeek-V3 final run
    assert payback_months(0, -5).value == 0
    assert payback_months(1e6, 0).value == math.inf


def test_bad_inputs_name_the_field() -> None:
    from tests.engine.market.test_cash_by_hand import base_scenario

    with pytest.raises(ScenarioError) as err:
        required_volume_uplift_fraction(0.6, 1.5)
    assert err.value.field == "cut_fraction"
    with pytest.raises(ScenarioError) as err:
        profit_max_price_usd_per_million_tokens(base_scenario(), float("nan"))
    assert err.value.field == "unit_cost_usd_per_million_tokens"


def test_no_cut_needs_no_uplift_even_below_cost() -> None:
    assert required_volume_uplift_fraction(-0.5, 0.0).value == 0.0


def test_closed_forms_come_with_every_strategy() -> None:
    import numpy as np

    from app.engine.market import Strategy, run_simulation
    from tests.engine.market.test_cash_by_hand import base_scenario

    # price 2.00, unit cost 0.50: m = 75 %; the rival sells at 1.50, so matching it is a 25 % cut
    result = run_simulation(base_scenario(), [Strategy("baseline", 0.50, 60_000.0)], np.random.default_rng(0))
    forms = result.strategies[0].closed_forms
    assert forms["margin_fraction"].value == pytest.approx(0.75)
    assert forms["match_cut_fraction"].value == pytest.approx(0.25)
    assert forms["required_volume_uplift_fraction"].value == pytest.approx(0.25 / 0.50)
    assert forms["breakeven_volume_million_tokens_per_month"].value == pytest.approx(100_000 / 1.5)
    assert forms["profit_max_price_usd_per_million_tokens"].value == pytest.approx(
        profit_max_price_usd_per_million_tokens(base_scenario(), 0.5).value
    )
    assert "lerner_price_usd_per_million_tokens" not in forms
    # contribution at today's volume: 1.5 x 100,000 - 100,000 = 50,000 a month -> 60,000 / 50,000
    assert forms["payback_months"].value == pytest.approx(1.2)
    assert result.to_dict()["strategies"][0]["closed_forms"]["payback_months"] == {
        "value": 1.2,
        "reason": None,
    }
