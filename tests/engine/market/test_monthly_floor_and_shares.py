"""Our unit cost and price floor by month, and every firm's share of all demand (with the outside option)."""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from app.engine.market import PricingPolicy, Range, Rival, Strategy, run_simulation
from app.engine.market.simulation import SHARE_SAMPLE_PATHS
from tests.engine.market.test_cash_by_hand import base_scenario


def declining(k: Range, multiplier: Range | None = None, margin: float = 0.2):  # type: ignore[no-untyped-def]
    s = base_scenario(
        cost_decline_per_year=k,
        pricing=PricingPolicy("floor", floor_margin_fraction=margin),
        **({"unit_cost_multiplier": multiplier} if multiplier is not None else {}),
    )
    return dataclasses.replace(s, horizon_months=30)


def test_floor_by_month_is_c0_k_power_times_margin_when_deterministic() -> None:
    c0, k, margin = 0.50, 3.0, 0.2
    result = run_simulation(
        declining(Range.fixed(k), margin=margin), [Strategy("baseline", c0, 0.0)], np.random.default_rng(3)
    )
    s = result.strategies[0]
    t = np.arange(30)  # month t + 1
    expected_cost = c0 * k ** (-t / 12)
    assert s.unit_cost_usd_per_million_tokens_by_month is not None
    assert s.price_floor_usd_per_million_tokens_by_month is not None
    cost, floor = s.unit_cost_usd_per_million_tokens_by_month, s.price_floor_usd_per_million_tokens_by_month
    for band in ("p5", "p25", "p50", "p75", "p95"):  # nothing uncertain: every band is the one path
        assert_allclose(getattr(cost, band), expected_cost, rtol=1e-12)
        assert_allclose(getattr(floor, band), expected_cost * (1 + margin), rtol=1e-12)
    assert floor.p50[0] == pytest.approx(s.price_floor_usd_per_million_tokens)
    assert floor.p50[-1] < floor.p50[0] / 2  # k = 3 over 29 months: about a 14th
    # the "floor" pricing rule prices exactly at the floor each month
    assert_allclose(s.price_usd_per_million_tokens.p50, expected_cost * (1 + margin), rtol=1e-6)
    d = s.to_dict()
    assert d["price_floor_usd_per_million_tokens_by_month"]["p50"] == pytest.approx(
        list(expected_cost * (1 + margin))
    )


def test_floor_bands_spread_when_unit_cost_is_uncertain() -> None:
    scenario = dataclasses.replace(
        declining(Range.triangular(1.5, 3.0, 10.0), Range.triangular(0.8, 1.0, 1.3)), paths_count=2000
    )
    result = run_simulation(
        scenario, [Strategy("a", 0.5, 0.0), Strategy("b", 0.25, 0.0)], np.random.default_rng(5)
    )
    a, b = result.strategies
    fa = a.price_floor_usd_per_million_tokens_by_month
    fb = b.price_floor_usd_per_million_tokens_by_month
    assert fa is not None and fb is not None
    assert np.all(fa.p5 <= fa.p50) and np.all(fa.p50 <= fa.p95)
    assert fa.p95[-1] > fa.p5[-1] * 1.5  # the decline rate's spread widens the band over time
    assert np.all(np.diff(fa.p50) < 0)
    assert_allclose(fb.p50, fa.p50 / 2, rtol=1e-12)  # percentiles scale with the strategy's own cost
    assert fa.p50[0] == pytest.approx(a.price_floor_usd_per_million_tokens)


def _shares(result, i=0):  # type: ignore[no-untyped-def]
    ms = result.strategies[i].market_shares
    assert ms is not None
    return ms


def test_shares_with_the_outside_option_add_up_to_one_deterministic() -> None:
    scenario = base_scenario()
    rivals = (
        scenario.rivals[0],
        Rival(
            name="Cutter",
            price_usd_per_million_tokens=2.5,  # undercuts the lowest other price (1.50) by 10 %
            unit_cost_usd_per_million_tokens=Range.fixed(0.2),
            start_share_fraction=0.1,
            rule="undercut",
            undercut_fraction=0.1,
        ),
    )
    scenario = dataclasses.replace(scenario, rivals=rivals, horizon_months=12)
    result = run_simulation(scenario, [Strategy("baseline", 0.5, 60_000.0)], np.random.default_rng(1))
    ms = _shares(result)
    total = ms.ours + sum(ms.rivals) + ms.outside_option
    assert_allclose(total, 1.0, atol=1e-6)
    assert len(ms.rivals) == 2
    # ours, by volume of all demand, is our share of every seller's volume (other providers included)
    s = result.strategies[0]
    assert_allclose(ms.ours, s.share_fraction.p50, rtol=1e-5)
    assert ms.outside_option[0] == pytest.approx(0.15, abs=0.05)  # 1 - 0.25 - 0.5 - 0.1 at the start
    assert ms.rivals[1][-1] > ms.rivals[1][0]  # the undercutter gains share


def test_shares_capacity_spill_goes_to_rivals_and_sum_stays_one() -> None:
    scenario = base_scenario(capacity_million_tokens_per_month=50_000.0)  # half of our 100,000 demand
    result = run_simulation(scenario, [Strategy("baseline", 0.5, 60_000.0)], np.random.default_rng(1))
    ms = _shares(result)
    assert_allclose(ms.ours, 50_000.0 / 400_000.0, rtol=1e-6)
    assert_allclose(ms.ours + ms.rivals[0] + ms.outside_option, 1.0, atol=1e-6)


def test_shares_are_medians_on_a_sample_of_paths_and_roughly_add_up() -> None:
    scenario = dataclasses.replace(
        declining(Range.triangular(1.5, 3.0, 10.0)), paths_count=SHARE_SAMPLE_PATHS + 500
    )
    result = run_simulation(scenario, [Strategy("a", 0.5, 0.0)], np.random.default_rng(2))
    ms = _shares(result)
    assert ms.paths_used == SHARE_SAMPLE_PATHS
    total = ms.ours + sum(ms.rivals) + ms.outside_option
    assert np.all(np.abs(total - 1.0) < 0.05)
    d = result.strategies[0].to_dict()["shares_of_all_demand_fraction_p50"]
    assert set(d) == {"statistic", "paths_used", "ours", "rivals", "outside_option"}
    assert len(d["rivals"]) == 1 and len(d["ours"]) == 30
