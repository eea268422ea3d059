"""Where prices settle if everyone prices rationally: logit-Bertrand Nash prices of the market as configured,
our profit-versus-price curve, and our profit-maximising price - all from the simulator's own demand model
(app/engine/market/demand.py) at central values (docs/methodology/market-model.md, "Best response and
equilibrium").

Each firm's best response to the others' prices is p_j = c_j + D / (alpha_j (1 - (1 - kappa) s_j(p))); the
Nash prices are the fixed point of all best responses together, found by damped (Jacobi) iteration from
today's prices. Other providers (the fringe) keep the market's going price: they are not a player. A
subsidised rival's floor is its unit cost x (1 - subsidy); a rational rival never goes below its unit cost
anyway (its best response is above it), so the floor binds only for rules, never for the equilibrium.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.market.demand import Demand, best_response_price, calibrate
from app.engine.market.scenario import Scenario

MAX_ITERATIONS = 2_000
TOLERANCE = 1e-10  # largest relative price change between two iterations at convergence
DAMPING = 0.7


@dataclass(frozen=True)
class FirmPrice:
    name: str
    price_usd_per_million_tokens: float
    share_fraction: float  # of every seller's volume (other providers included)
    margin_fraction: float  # (p - c) / p
    unit_cost_usd_per_million_tokens: float
    gross_profit_usd_per_month: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Equilibrium:
    converged: bool
    iterations: int
    month: int
    firms: tuple[FirmPrice, ...]  # ours first, then every rival in scenario order
    other_providers_share_fraction: float
    volume_million_tokens_per_month: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "converged": self.converged,
            "iterations": self.iterations,
            "month": self.month,
            "firms": [f.to_dict() for f in self.firms],
            "other_providers_share_fraction": self.other_providers_share_fraction,
            "volume_million_tokens_per_month": self.volume_million_tokens_per_month,
        }


@dataclass(frozen=True)
class Market1:
    """The market of one month at central values: calibrated demand, every firm's unit cost and floor."""

    demand: Demand
    names: tuple[str, ...]
    costs: np.ndarray  # (F,) named firms then the fringe (whose cost is never used)
    floors: np.ndarray  # (F,)
    deflator: float
    volume_scale: float  # Q0 (1 + g)^years: multiply by exp(kappa IV) for the month's volume

    @property
    def named(self) -> int:
        return len(self.names)

    def profit(self, prices: np.ndarray) -> np.ndarray:
        """Gross profit a month (p - c) Q s of every firm at `prices` (F,) with long-run (target) shares."""
        p = prices[:, None]
        shares = self.demand.shares(p, self.deflator)[:, 0]
        volume = self.volume_scale * float(self.demand.volume_factor(p, self.deflator)[0])
        out: np.ndarray = (prices - self.costs) * volume * shares
        return out

    def best_responses(self, prices: np.ndarray) -> np.ndarray:
        d = self.demand
        u = d.a[:, 0] - d.alpha[:, 0] * prices / self.deflator
        top = float(u.max())
        w = np.exp(u - top)
        others = w.sum() - w
        best = best_response_price(
            self.costs, d.alpha[:, 0], d.a[:, 0] - top, others, d.kappa[0], self.deflator
        )
        out: np.ndarray = np.maximum(best, self.floors)
        return out


def market_at(
    scenario: Scenario, unit_cost_usd_per_million_tokens: float | None = None, month: int = 1
) -> Market1:
    firm, market = scenario.firm, scenario.market
    years = (month - 1) / 12.0
    c0 = (
        firm.unit_cost_usd_per_million_tokens
        if unit_cost_usd_per_million_tokens is None
        else unit_cost_usd_per_million_tokens
    )
    ours_factor = firm.cost_decline_per_year.central ** (-years)
    d = market.price_decline_per_year.central
    deflator = d ** (-years)
    rival_factor = deflator if market.rival_cost_decline == "market" else ours_factor
    prices = [firm.price_usd_per_million_tokens] + [r.price_usd_per_million_tokens for r in scenario.rivals]
    shares = [firm.start_share_fraction] + [r.start_share_fraction for r in scenario.rivals]
    e_m = market.market_elasticity.central
    demand = calibrate(prices, shares, market.switching_elasticity.central, e_m)
    our_cost = c0 * firm.unit_cost_multiplier.central * ours_factor
    costs = [our_cost]
    floors = [our_cost * (1.0 + firm.pricing.floor_margin_fraction)]
    for r in scenario.rivals:
        cost = r.unit_cost_usd_per_million_tokens.central * rival_factor
        costs.append(cost)
        subsidised = r.subsidy_budget_usd > 0 and r.subsidy_fraction > 0
        floors.append(cost * (1.0 - r.subsidy_fraction) if subsidised else cost)
    if demand.has_fringe:
        costs.append(0.0)
        floors.append(0.0)
    growth = (1.0 + market.demand_growth_per_year_fraction.central) ** years
    return Market1(
        demand=demand,
        names=(firm.name, *(r.name for r in scenario.rivals)),
        costs=np.asarray(costs),
        floors=np.asarray(floors),
        deflator=deflator,
        volume_scale=market.volume_million_tokens_per_month * growth,
    )


def equilibrium(
    scenario: Scenario, unit_cost_usd_per_million_tokens: float | None = None, *, month: int = 1
) -> Equilibrium:
    """Logit-Bertrand Nash prices of the market in `month` (costs and the price level of that month)."""
    m = market_at(scenario, unit_cost_usd_per_million_tokens, month)
    n = m.named
    fringe_price = m.demand.start_prices[n:] * m.deflator
    prices = np.concatenate([m.demand.start_prices[:n] * m.deflator, fringe_price])
    converged, iterations = False, 0
    for iterations in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported
        best = m.best_responses(prices)
        step = DAMPING * (best[:n] - prices[:n])
        prices[:n] += step
        if np.all(np.abs(step) <= TOLERANCE * np.maximum(np.abs(prices[:n]), 1e-300)):
            converged = True
            break
    profit = m.profit(prices)
    shares = m.demand.shares(prices[:, None], m.deflator)[:, 0]
    volume = m.volume_scale * float(m.demand.volume_factor(prices[:, None], m.deflator)[0])
    firms = tuple(
        FirmPrice(
            name=m.names[j],
            price_usd_per_million_tokens=float(prices[j]),
            share_fraction=float(shares[j]),
            margin_fraction=float((prices[j] - m.costs[j]) / prices[j]) if prices[j] > 0 else -math.inf,
            unit_cost_usd_per_million_tokens=float(m.costs[j]),
            gross_profit_usd_per_month=float(profit[j]),
        )
        for j in range(n)
    )
    return Equilibrium(
        converged=converged,
        iterations=iterations,
        month=month,
        firms=firms,
        other_providers_share_fraction=float(shares[n:].sum()),
        volume_million_tokens_per_month=volume,
    )


def _month_one_rival_prices(scenario: Scenario) -> list[float]:
    """Rivals' month-1 list prices at central values: today's price x the dated cuts of month 1, never below
    the rival's floor (reactive rules are read as holding: they react from month 2 on)."""
    out = []
    for r in scenario.rivals:
        price = r.price_usd_per_million_tokens
        for cut in r.cuts:
            if round(cut.month.central) <= 1:
                price *= 1.0 - cut.cut_fraction.central
        cost = r.unit_cost_usd_per_million_tokens.central
        subsidised = r.subsidy_budget_usd > 0 and r.subsidy_fraction > 0
        out.append(max(price, cost * (1.0 - r.subsidy_fraction) if subsidised else cost))
    return out


def profit_curve(
    scenario: Scenario,
    unit_cost_usd_per_million_tokens: float,
    rival_prices_usd_per_million_tokens: list[float],
    prices_usd_per_million_tokens: np.ndarray,
    *,
    month: int = 1,
) -> np.ndarray:
    """Our gross profit a month at each of `prices` against the rivals' given prices in `month`, from the
    long-run (target) shares and the month's total market; unit cost as given (that month's)."""
    m = market_at(scenario, None, month)
    n = m.named
    grid = np.asarray(prices_usd_per_million_tokens, dtype=float)
    base = np.concatenate(
        [
            [0.0],
            np.asarray(rival_prices_usd_per_million_tokens, dtype=float),
            m.demand.start_prices[n:] * m.deflator,
        ]
    )
    all_prices = np.repeat(base[:, None], grid.size, axis=1)
    all_prices[0] = grid
    d = m.demand
    alpha = d.alpha[:, :1]
    u = d.a[:, :1] - alpha * all_prices / m.deflator
    top = u.max(axis=0)
    w = np.exp(u - top)
    den = w.sum(axis=0)
    share = w[0] / den
    volume = m.volume_scale * np.exp(d.kappa[0] * (np.log(den) + top))
    out: np.ndarray = (grid - unit_cost_usd_per_million_tokens) * volume * share
    return out


def best_response_to(
    scenario: Scenario,
    unit_cost_usd_per_million_tokens: float,
    rival_prices_usd_per_million_tokens: list[float],
    *,
    month: int = 1,
) -> float:
    """Our profit-maximising price against the rivals' given prices in `month`, never below our floor."""
    m = market_at(scenario, None, month)
    n = m.named
    d = m.demand
    prices = np.concatenate(
        [[0.0], np.asarray(rival_prices_usd_per_million_tokens, dtype=float), d.start_prices[n:] * m.deflator]
    )
    u = d.a[:, 0] - d.alpha[:, 0] * prices / m.deflator
    top = float(u[1:].max()) if u.size > 1 else 0.0
    others = float(np.exp(u[1:] - top).sum()) if u.size > 1 else 0.0
    best = best_response_price(
        np.asarray([unit_cost_usd_per_million_tokens]),
        d.alpha[:1, 0],
        d.a[:1, 0] - top,
        np.asarray([others]),
        d.kappa[:1],
        m.deflator,
    )
    floor = unit_cost_usd_per_million_tokens * (1.0 + scenario.firm.pricing.floor_margin_fraction)
    return float(max(best[0], floor))


def month_one_best_response(scenario: Scenario, unit_cost_usd_per_million_tokens: float) -> float:
    """Our profit-maximising price in month 1 against the rivals' month-1 prices (central values)."""
    return best_response_to(scenario, unit_cost_usd_per_million_tokens, _month_one_rival_prices(scenario))
