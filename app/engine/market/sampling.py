"""Monte Carlo draws with common random numbers.

Every uncertain input owns one column ("slot") of a (paths x slots) matrix of uniforms drawn once from the
injected generator; each input is its range's inverse CDF applied to its column. So two runs that differ only
in one input's range (tornado low/high, a steeper decline, more cash) see identical draws for everything else,
and strategies never draw at all: they share the paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.market.errors import ScenarioError
from app.engine.market.scenario import Range, Scenario

# Fixed slots first, then per rival: unit cost, then (month, cut fraction) per dated cut.
GLOBAL_SLOTS: tuple[str, ...] = (
    "firm.cost_decline_per_year",
    "firm.unit_cost_multiplier",
    "market.market_elasticity",
    "market.switching_elasticity",
    "market.demand_growth_per_year_fraction",
    "market.price_decline_per_year",
)

_Z95 = 1.6448536269514722  # standard normal 95th percentile


def norm_ppf(u: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9)."""
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    u = np.clip(np.asarray(u, dtype=float), 1e-300, 1 - 1e-16)
    out = np.empty_like(u)
    lo = u < 0.02425
    hi = u > 1 - 0.02425
    mid = ~(lo | hi)
    q = u[mid] - 0.5
    r = q * q
    out[mid] = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1
    )
    for mask, sign, tail in ((lo, 1.0, u[lo]), (hi, -1.0, 1 - u[hi])):
        q = np.sqrt(-2 * np.log(tail))
        out[mask] = (
            sign
            * (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        )
    return out


def range_ppf(r: Range, u: np.ndarray) -> np.ndarray:
    """Quantile function of a range evaluated at uniforms u (monotone non-decreasing in u)."""
    u = np.asarray(u, dtype=float)
    if r.is_fixed:
        return np.full(u.shape, r.mode)
    if r.kind == "uniform":
        return r.low + u * (r.high - r.low)
    if r.kind == "lognormal":
        mu = 0.5 * (np.log(r.low) + np.log(r.high))
        sigma = (np.log(r.high) - np.log(r.low)) / (2 * _Z95)
        return np.asarray(np.exp(mu + sigma * norm_ppf(u)))
    a, c, b = r.low, r.mode, r.high
    fc = (c - a) / (b - a)
    left = a + np.sqrt(u * (b - a) * (c - a))
    right = b - np.sqrt((1 - u) * (b - a) * (b - c))
    return np.where(u < fc, left, right)


def slot_names(scenario: Scenario) -> tuple[str, ...]:
    names = list(GLOBAL_SLOTS)
    for i, rival in enumerate(scenario.rivals):
        names.append(f"rivals[{i}].unit_cost_usd_per_million_tokens")
        for j in range(len(rival.cuts)):
            names.append(f"rivals[{i}].cuts[{j}].month")
            names.append(f"rivals[{i}].cuts[{j}].cut_fraction")
    return tuple(names)


def slot_ranges(scenario: Scenario) -> dict[str, Range]:
    f, m = scenario.firm, scenario.market
    out = {
        "firm.cost_decline_per_year": f.cost_decline_per_year,
        "firm.unit_cost_multiplier": f.unit_cost_multiplier,
        "market.market_elasticity": m.market_elasticity,
        "market.switching_elasticity": m.switching_elasticity,
        "market.demand_growth_per_year_fraction": m.demand_growth_per_year_fraction,
        "market.price_decline_per_year": m.price_decline_per_year,
    }
    for i, rival in enumerate(scenario.rivals):
        out[f"rivals[{i}].unit_cost_usd_per_million_tokens"] = rival.unit_cost_usd_per_million_tokens
        for j, cut in enumerate(rival.cuts):
            out[f"rivals[{i}].cuts[{j}].month"] = cut.month
            out[f"rivals[{i}].cuts[{j}].cut_fraction"] = cut.cut_fraction
    return out


MAX_UNIFORMS = 25_000_000  # paths x uncertain inputs: 100 MB of float32, a bound on one run's memory


def draw_uniforms(scenario: Scenario, paths_count: int, rng: np.random.Generator) -> np.ndarray:
    """The (paths x slots) uniforms behind every uncertain input; draw once, reuse for every variant.

    float32 (24-bit resolution) halves the memory of the largest runs; the quantile functions work in
    float64 on each column.
    """
    slots = len(slot_names(scenario))
    if paths_count * slots > MAX_UNIFORMS:
        raise ScenarioError(
            "paths_count",
            f"{paths_count} paths x {slots} uncertain inputs is more than {MAX_UNIFORMS:,} draws; "
            f"use at most {MAX_UNIFORMS // slots} paths or fewer dated cuts",
        )
    return rng.random((paths_count, slots), dtype=np.float32)


@dataclass(frozen=True)
class PathInputs:
    """Per-path values of the uncertain inputs; arrays have the paths on their first axis."""

    cost_decline_per_year: np.ndarray  # (P,)
    unit_cost_multiplier: np.ndarray  # (P,)
    market_elasticity: np.ndarray  # (P,)
    switching_elasticity: np.ndarray  # (P,)
    demand_growth_per_year_fraction: np.ndarray  # (P,)
    price_decline_per_year: np.ndarray  # (P,)
    rival_unit_cost_usd_per_million_tokens: np.ndarray  # (P, R)
    rival_cut_month: np.ndarray  # (P, R, C) int, 1-based; C = most cuts of any rival (padding never fires)
    rival_cut_fraction: np.ndarray  # (P, R, C)

    @property
    def paths_count(self) -> int:
        return int(self.cost_decline_per_year.shape[0])


def sample_inputs(scenario: Scenario, uniforms: np.ndarray) -> PathInputs:
    names = slot_names(scenario)
    ranges = slot_ranges(scenario)
    if uniforms.ndim != 2 or uniforms.shape[1] != len(names):
        raise ValueError(f"uniforms must have shape (paths, {len(names)}), got {uniforms.shape}")
    col = {name: uniforms[:, k] for k, name in enumerate(names)}

    def draw(name: str) -> np.ndarray:
        return range_ppf(ranges[name], col[name])

    n_paths = uniforms.shape[0]
    n_rivals = len(scenario.rivals)
    n_cuts = max((len(r.cuts) for r in scenario.rivals), default=0)
    rival_cost = np.empty((n_paths, n_rivals))
    cut_month = np.full((n_paths, n_rivals, n_cuts), scenario.horizon_months + 1, dtype=np.int16)
    cut_fraction = np.zeros((n_paths, n_rivals, n_cuts))
    for i, rival in enumerate(scenario.rivals):
        rival_cost[:, i] = draw(f"rivals[{i}].unit_cost_usd_per_million_tokens")
        for j in range(len(rival.cuts)):
            cut_month[:, i, j] = np.rint(draw(f"rivals[{i}].cuts[{j}].month")).astype(np.int16)
            cut_fraction[:, i, j] = draw(f"rivals[{i}].cuts[{j}].cut_fraction")
    return PathInputs(
        cost_decline_per_year=draw("firm.cost_decline_per_year"),
        unit_cost_multiplier=draw("firm.unit_cost_multiplier"),
        market_elasticity=draw("market.market_elasticity"),
        switching_elasticity=draw("market.switching_elasticity"),
        demand_growth_per_year_fraction=draw("market.demand_growth_per_year_fraction"),
        price_decline_per_year=draw("market.price_decline_per_year"),
        rival_unit_cost_usd_per_million_tokens=rival_cost,
        rival_cut_month=cut_month,
        rival_cut_fraction=cut_fraction,
    )
