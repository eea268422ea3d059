"""Closed-form checks a finance reader can verify by hand (docs/methodology/market-model.md, "Closed forms").

Each returns a `ClosedForm`: the value, or `math.inf` with a reason when the answer is "never".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.engine.market.errors import ScenarioError


@dataclass(frozen=True)
class ClosedForm:
    value: float
    reason: str | None = None  # why the value is infinite (never pays, never breaks even, ...)

    @property
    def is_finite(self) -> bool:
        return math.isfinite(self.value)

    def to_dict(self) -> dict[str, float | str | None]:
        return {"value": self.value if self.is_finite else None, "reason": self.reason}


def _check(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(field, f"must be a finite number, got {value!r}")


def required_volume_uplift_fraction(margin_fraction: float, cut_fraction: float) -> ClosedForm:
    """Extra volume a price cut needs to keep the same contribution: x / (m - x).

    m = (p - c) / p the contribution margin, x the cut as a fraction of the price.
    m = 60 %, x = 20 % -> +50 %. A cut at or above the margin sells at or below cost: it can never pay.
    """
    _check("margin_fraction", margin_fraction)
    _check("cut_fraction", cut_fraction)
    if not 0 <= cut_fraction <= 1:
        raise ScenarioError("cut_fraction", f"must be between 0 and 1, got {cut_fraction}")
    if margin_fraction > 1:
        raise ScenarioError("margin_fraction", f"must be <= 1, got {margin_fraction}")
    if cut_fraction == 0:
        return ClosedForm(0.0)
    if cut_fraction >= margin_fraction:
        return ClosedForm(
            math.inf, "a cut at or above the contribution margin can never pay: it sells at or below cost"
        )
    return ClosedForm(cut_fraction / (margin_fraction - cut_fraction))


def breakeven_volume_million_tokens_per_month(
    fixed_costs_usd_per_month: float,
    price_usd_per_million_tokens: float,
    unit_cost_usd_per_million_tokens: float,
) -> ClosedForm:
    """Q_BE = F / (p - c): the monthly volume at which contribution covers fixed costs."""
    _check("fixed_costs_usd_per_month", fixed_costs_usd_per_month)
    _check("price_usd_per_million_tokens", price_usd_per_million_tokens)
    _check("unit_cost_usd_per_million_tokens", unit_cost_usd_per_million_tokens)
    unit_margin = price_usd_per_million_tokens - unit_cost_usd_per_million_tokens
    if unit_margin <= 0:
        return ClosedForm(math.inf, "the price does not exceed the unit cost: no volume breaks even")
    return ClosedForm(fixed_costs_usd_per_month / unit_margin)


def profit_max_price_usd_per_million_tokens(
    scenario: Any, unit_cost_usd_per_million_tokens: float
) -> ClosedForm:
    """Our profit-maximising price in the simulator's own demand model, against the rivals' prices of month 1
    (their dated month-1 cuts at central values, held at their floors), central elasticities: the root of
    p = c + 1 / (alpha (1 - (1 - kappa) s(p))) (demand.best_response_price). It replaces the constant-
    elasticity Lerner price c e / (1 + e), which ignores that a logit firm's elasticity grows with its
    price."""
    from app.engine.market.equilibrium import month_one_best_response

    _check("unit_cost_usd_per_million_tokens", unit_cost_usd_per_million_tokens)
    return ClosedForm(month_one_best_response(scenario, unit_cost_usd_per_million_tokens))


def payback_months(one_off_usd: float, monthly_contribution_usd: float) -> ClosedForm:
    """T = one-off cost / monthly contribution."""
    _check("one_off_usd", one_off_usd)
    _check("monthly_contribution_usd", monthly_contribution_usd)
    if one_off_usd <= 0:
        return ClosedForm(0.0)
    if monthly_contribution_usd <= 0:
        return ClosedForm(math.inf, "the monthly contribution is not positive: the spend is never paid back")
    return ClosedForm(one_off_usd / monthly_contribution_usd)


def match_cut_fraction(scenario: Any) -> float:
    """The cut that would take our price to the lowest rival price after the rivals' dated cuts (central
    values): 0 when we are already the cheapest."""
    p0 = scenario.firm.price_usd_per_million_tokens
    lowest = math.inf
    for r in scenario.rivals:
        price = r.price_usd_per_million_tokens
        for cut in r.cuts:
            price *= 1.0 - cut.cut_fraction.central
        lowest = min(lowest, max(price, 0.0))
    return max(0.0, 1.0 - lowest / p0) if math.isfinite(lowest) else 0.0


def strategy_closed_forms(
    scenario: Any, unit_cost_usd_per_million_tokens: float, one_off_training_usd: float
) -> dict[str, ClosedForm]:
    """The closed forms at today's price and volume for one strategy's unit cost (central values)."""
    firm, market = scenario.firm, scenario.market
    p0, c = firm.price_usd_per_million_tokens, unit_cost_usd_per_million_tokens
    margin = (p0 - c) / p0
    cut = match_cut_fraction(scenario)
    volume = market.volume_million_tokens_per_month * firm.start_share_fraction
    contribution = (p0 - c) * volume - firm.fixed_costs_usd_per_month
    return {
        "margin_fraction": ClosedForm(margin),
        "match_cut_fraction": ClosedForm(cut),
        "required_volume_uplift_fraction": required_volume_uplift_fraction(min(margin, 1.0), min(cut, 1.0)),
        "breakeven_volume_million_tokens_per_month": breakeven_volume_million_tokens_per_month(
            firm.fixed_costs_usd_per_month, p0, c
        ),
        "profit_max_price_usd_per_million_tokens": profit_max_price_usd_per_million_tokens(scenario, c),
        "payback_months": payback_months(one_off_training_usd, contribution),
    }
