"""Tornado: one input at a time, on common random numbers."""

import numpy as np
import pytest

from app.engine.market import Range, ScenarioError, Strategy, run_simulation, scenario_from_dict
from app.engine.market.sensitivity import tornado, with_input
from tests.engine.market.test_scenario_io import MINIMAL


def scenario():  # type: ignore[no-untyped-def]
    return scenario_from_dict(MINIMAL)


def test_base_value_is_the_plain_run_on_the_same_seed() -> None:
    strategy = Strategy("baseline", 0.3)
    t = tornado(scenario(), strategy, np.random.default_rng(9), outcome="cash_at_month", outcome_month=12)
    plain = run_simulation(scenario(), [strategy], np.random.default_rng(9))
    assert t.base_value == plain.strategies[0].cash_usd.p50[11]
    assert t.outcome_month == 12


def test_bars_cover_the_uncertain_inputs_and_are_sorted() -> None:
    t = tornado(scenario(), Strategy("baseline", 0.3), np.random.default_rng(1), paths_count=300)
    names = [b.input for b in t.bars]
    assert "market.price_decline_per_year" in names
    assert "rivals[0].cuts[0].cut_fraction" in names
    assert "firm.starting_cash_usd" in names
    swings = [b.swing for b in t.bars]
    assert swings == sorted(swings, reverse=True)
    cash = next(b for b in t.bars if b.input == "firm.starting_cash_usd")
    # more cash moves median cash one for one (nothing else depends on it): +/- 20 % of 1,000,000
    assert cash.outcome_at_high - cash.outcome_at_low == pytest.approx(400_000, abs=1e-6)
    assert t.outcome_month == 24


def test_survival_outcome_and_errors() -> None:
    t = tornado(
        scenario(),
        Strategy("baseline", 0.3),
        np.random.default_rng(1),
        outcome="survival_probability",
        paths_count=200,
    )
    assert all(0 <= b.outcome_at_low <= 1 and 0 <= b.outcome_at_high <= 1 for b in t.bars)
    with pytest.raises(ScenarioError) as err:
        tornado(scenario(), Strategy("baseline", 0.3), np.random.default_rng(1), outcome="profit")  # type: ignore[arg-type]
    assert err.value.field == "outcome"


def test_with_input_replaces_nested_values() -> None:
    s = with_input(scenario(), "rivals[0].cuts[0].month", Range.fixed(5))
    assert s.rivals[0].cuts[0].month == Range.fixed(5)
    assert (
        with_input(s, "market.price_decline_per_year", Range.fixed(2.0)).market.price_decline_per_year.central
        == 2
    )
