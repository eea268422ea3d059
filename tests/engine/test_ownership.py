"""Owning versus renting: hand arithmetic and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.ownership import (
    OwnershipInputs,
    annuity_factor,
    break_even_utilization,
    months_to_break_even,
    ownership_cost,
)

# 8 × H100-class GPUs at $30,000, server overhead 35 %, 4 years straight line, 700 W boards with 80 % for
# the rest of the server, PUE 1.3 at $0.10/kWh, 60 % busy, idle draws 20 %, colocation $150/kW-month.
CLUSTER = OwnershipInputs(
    gpu_count=8,
    purchase_usd_per_gpu=30_000,
    depreciation_years=4,
    power_usd_per_kwh=0.10,
    pue=1.3,
    utilization=0.6,
    board_power_w=700,
    server_overhead_fraction=0.35,
    server_power_overhead_fraction=0.8,
    idle_power_fraction=0.2,
    colocation_usd_per_kw_month=150,
)


def test_hand_arithmetic() -> None:
    cost = ownership_cost(CLUSTER)
    # capex 8 × 30,000 × 1.35 = 324,000; capital 324,000 / 4 = 81,000 a year
    assert cost.capex_usd == pytest.approx(324_000)
    assert cost.capital_usd_per_year == pytest.approx(81_000)
    # IT power 8 × 0.7 kW × 1.8 = 10.08 kW; a full year of it: 10.08 × 8,760 × 1.3 × 0.10 = 11,479.104
    # at 60 % busy and 20 % idle draw: × (0.2 + 0.8 × 0.6) = × 0.68 → 7,805.79072
    assert cost.it_power_kw == pytest.approx(10.08)
    assert cost.energy_usd_per_year == pytest.approx(7_805.79072)
    # colocation 10.08 kW × 150 × 12 = 18,144
    assert cost.colocation_usd_per_year == pytest.approx(18_144)
    # total 106,949.79072 over 8 × 8,760 × 0.6 = 42,048 used GPU-hours → 2.54352 USD per GPU-hour
    assert cost.total_usd_per_year == pytest.approx(106_949.79072)
    assert cost.used_gpu_hours_per_year == pytest.approx(42_048)
    assert cost.usd_per_gpu_hour == pytest.approx(2.5435167, rel=1e-6)
    assert sum(cost.breakdown_usd_per_gpu_hour.values()) == pytest.approx(cost.usd_per_gpu_hour)


def test_break_even_against_a_rental_by_hand() -> None:
    cost = ownership_cost(CLUSTER)
    # fixed per GPU-year: (81,000 + 18,144 + 11,479.104 × 0.2) / 8 = 12,679.9776
    # marginal energy of a busy hour: 11,479.104 × 0.8 / (8 × 8,760) = 0.13104
    # u* = 12,679.9776 / (8,760 × (2.99 − 0.13104)) = 0.506298
    assert cost.fixed_usd_per_gpu_year == pytest.approx(12_679.9776)
    assert cost.marginal_usd_per_busy_gpu_hour == pytest.approx(0.13104)
    assert break_even_utilization(cost, 2.99) == pytest.approx(0.5062981, rel=1e-6)
    # payback: 324,000 / ((2.99 × 42,048 − 25,949.79072) / 12) = 38.968 months
    assert months_to_break_even(cost, 2.99) == pytest.approx(38.96817, rel=1e-6)


def test_renting_cheaper_at_any_utilisation_is_none() -> None:
    cost = ownership_cost(CLUSTER)
    assert break_even_utilization(cost, 0.50) is None  # owning needs > 100 % busy to beat $0.50/h
    assert break_even_utilization(cost, 0.10) is None  # rent below the energy of a busy hour
    assert months_to_break_even(ownership_cost(CLUSTER), 0.10) is None


def test_at_break_even_owned_equals_rented() -> None:
    cost = ownership_cost(CLUSTER)
    u_star = break_even_utilization(cost, 2.99)
    assert u_star is not None
    at_star = ownership_cost(OwnershipInputs(**{**CLUSTER.__dict__, "utilization": u_star}))
    assert at_star.usd_per_gpu_hour == pytest.approx(2.99, rel=1e-9)


def test_annuity_factor() -> None:
    assert annuity_factor(0.0, 4) == pytest.approx(0.25)
    # 8 % over 4 years: 0.08 / (1 − 1.08^−4) = 0.301921
    assert annuity_factor(0.08, 4) == pytest.approx(0.3019208, rel=1e-6)


@pytest.mark.parametrize("name", ["gpu_count", "pue", "utilization", "purchase_usd_per_gpu"])
def test_out_of_range_names_the_field(name: str) -> None:
    bad = {"gpu_count": 0, "pue": 0.9, "utilization": 1.5, "purchase_usd_per_gpu": -1}[name]
    with pytest.raises(ValueError, match=name):
        OwnershipInputs(**{**CLUSTER.__dict__, name: bad})


utilizations = st.floats(min_value=0.01, max_value=1.0)


@given(low=utilizations, high=utilizations)
def test_busier_hardware_never_costs_more_per_used_hour(low: float, high: float) -> None:
    low, high = sorted((low, high))
    at_low = ownership_cost(OwnershipInputs(**{**CLUSTER.__dict__, "utilization": low}))
    at_high = ownership_cost(OwnershipInputs(**{**CLUSTER.__dict__, "utilization": high}))
    assert at_high.usd_per_gpu_hour <= at_low.usd_per_gpu_hour * (1 + 1e-12)


@given(
    price=st.floats(min_value=1_000, max_value=100_000),
    extra=st.floats(min_value=0, max_value=50_000),
    rate=st.floats(min_value=0, max_value=0.3),
)
def test_dearer_hardware_or_money_never_lowers_the_cost(price: float, extra: float, rate: float) -> None:
    base = ownership_cost(OwnershipInputs(**{**CLUSTER.__dict__, "purchase_usd_per_gpu": price}))
    dearer = ownership_cost(OwnershipInputs(**{**CLUSTER.__dict__, "purchase_usd_per_gpu": price + extra}))
    financed = ownership_cost(
        OwnershipInputs(
            **{**CLUSTER.__dict__, "purchase_usd_per_gpu": price, "financing_rate_fraction": rate}
        )
    )
    assert dearer.usd_per_gpu_hour >= base.usd_per_gpu_hour
    assert financed.usd_per_gpu_hour >= base.usd_per_gpu_hour * (1 - 1e-12)
    assert math.isfinite(financed.usd_per_gpu_hour)
