"""Result types of a simulation and the reductions over paths that fill them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.market.closed_forms import ClosedForm
from app.engine.market.scenario import Scenario

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.50, 0.75, 0.95)
BAND_NAMES: tuple[str, ...] = ("p5", "p25", "p50", "p75", "p95")


def quantile_bands(values: np.ndarray, *, fast: bool) -> np.ndarray:
    """p5/p25/p50/p75/p95 over the last axis (numpy's default linear interpolation); shape (..., 5).

    `fast` sorts in float32, which numpy sorts several times faster; used for display series (prices,
    volumes), never for cash, whose bands must stay exact to the cent. A float32 input with `fast` is
    sorted in place (it is a scratch buffer).
    """
    if fast:
        ordered = values if values.dtype == np.float32 else values.astype(np.float32)
    else:
        ordered = values.copy()
    ordered.sort(axis=-1)
    n = ordered.shape[-1]
    h = (n - 1) * np.asarray(QUANTILES)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = h - lo
    a = ordered[..., lo].astype(float)
    b = ordered[..., hi].astype(float)
    bands = np.where(frac == 0.0, a, a + (b - a) * frac)
    return round_significant(bands, 7) if fast else bands


def round_significant(x: np.ndarray, digits: int) -> np.ndarray:
    """Round to `digits` significant digits (float32 carries ~7): 12614.4 reads 12614.4, not 12614.40039."""
    x = np.asarray(x, dtype=float)
    magnitude = np.floor(np.log10(np.where((x != 0) & np.isfinite(x), np.abs(x), 1.0)))
    k = (digits - 1 - magnitude).astype(np.int64)
    up = 10.0 ** np.abs(k)  # exact for |k| <= 22
    rounded = np.where(k >= 0, np.round(x * up) / up, np.round(x / up) * up)
    return np.where(np.isfinite(x), rounded, x)


def median_month(reached_count: np.ndarray, paths_count: int) -> int | None:
    """Lower median of the first month each path reaches a state, from the number of paths that have
    reached it by each month (non-decreasing); None when fewer than half the paths ever get there."""
    needed = (paths_count - 1) // 2 + 1
    hit = np.flatnonzero(reached_count >= needed)
    return int(hit[0]) + 1 if hit.size else None


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class Bands:
    """Percentiles over paths, one value per month."""

    p5: np.ndarray
    p25: np.ndarray
    p50: np.ndarray
    p75: np.ndarray
    p95: np.ndarray

    @staticmethod
    def from_rows(rows: np.ndarray) -> Bands:
        return Bands(*(np.array(rows[k]) for k in range(len(QUANTILES))))

    def to_dict(self) -> dict[str, list[float | None]]:
        return {name: [_json_number(v) for v in getattr(self, name)] for name in BAND_NAMES}


@dataclass(frozen=True)
class RivalStamina:
    """How far and how long a rival can cut, at today's volume (docs/methodology/market-model.md).

    At its subsidised floor, with the other prices as today and customers fully moved, the rival loses
    (unit cost - floor) x volume a month; its budget lasts budget / loss months.
    """

    name: str
    unit_cost_usd_per_million_tokens: float
    floor_price_usd_per_million_tokens: float
    cut_at_cost_fraction: float  # the cut it can hold for ever (to its unit cost)
    cut_with_subsidy_fraction: float  # the deepest cut while its subsidy budget lasts
    monthly_loss_usd_at_floor: float
    sustain_months: float | None  # None: no loss at the floor, it can hold for ever

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rival_stamina(scenario: Scenario) -> tuple[RivalStamina, ...]:
    """Each rival at its floor, the other prices as today and customers fully moved (central values), in
    the scenario's own demand model: its share and the total market from the logit and its inclusive value."""
    from app.engine.market.demand import calibrate

    firm, market = scenario.firm, scenario.market
    prices = [firm.price_usd_per_million_tokens] + [r.price_usd_per_million_tokens for r in scenario.rivals]
    shares = [firm.start_share_fraction] + [r.start_share_fraction for r in scenario.rivals]
    demand = calibrate(prices, shares, market.switching_elasticity.central, market.market_elasticity.central)
    out = []
    for j, r in enumerate(scenario.rivals):
        cost = r.unit_cost_usd_per_million_tokens.central
        floor = cost * (1.0 - r.subsidy_fraction) if r.subsidy_budget_usd > 0 else cost
        price = r.price_usd_per_million_tokens
        at_floor = demand.start_prices.copy()
        at_floor[1 + j] = floor
        share = float(demand.shares(at_floor[:, None])[1 + j, 0])
        volume = market.volume_million_tokens_per_month * float(demand.volume_factor(at_floor[:, None])[0])
        loss = max(cost - floor, 0.0) * volume * share
        months = r.subsidy_budget_usd / loss if loss > 0 else None
        out.append(
            RivalStamina(
                name=r.name,
                unit_cost_usd_per_million_tokens=cost,
                floor_price_usd_per_million_tokens=floor,
                cut_at_cost_fraction=max(0.0, 1.0 - cost / price) if price > 0 else 0.0,
                cut_with_subsidy_fraction=max(0.0, 1.0 - floor / price) if price > 0 else 0.0,
                monthly_loss_usd_at_floor=loss,
                sustain_months=months,
            )
        )
    return tuple(out)


@dataclass(frozen=True, eq=False)
class MarketShares:
    """Medians over paths, by month, of each firm's share of all demand (the API market plus the outside
    option), by volume sold: ours, each rival's (with its part of any demand we could not serve) and the
    outside option's. On each path they add up to 1; medians, taken over the first `paths_used` paths
    (simulation.SHARE_SAMPLE_PATHS), add up to about 1."""

    ours: np.ndarray
    rivals: tuple[np.ndarray, ...]
    outside_option: np.ndarray
    paths_used: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": "p50",
            "paths_used": self.paths_used,
            "ours": [_json_number(v) for v in self.ours],
            "rivals": [[_json_number(v) for v in r] for r in self.rivals],
            "outside_option": [_json_number(v) for v in self.outside_option],
        }


@dataclass(frozen=True, eq=False)
class StrategyResult:
    name: str
    levers: tuple[str, ...]
    closed_forms: dict[str, ClosedForm]  # at today's price and volume, central values (closed_forms.py)
    unit_cost_usd_per_million_tokens: float  # month 1, median over paths (GPU-price uncertainty)
    price_floor_usd_per_million_tokens: float  # unit cost x (1 + floor margin): our pricing floor
    full_cost_price_usd_per_million_tokens: (
        float  # covers fixed costs and amortised training at today's volume
    )
    one_off_training_usd: float
    quality_delta_points: float
    capacity_million_tokens_per_month: float | None
    price_usd_per_million_tokens: Bands
    volume_million_tokens_per_month: Bands
    share_fraction: Bands  # of the inside (API) market's volume
    revenue_usd_per_month: Bands
    gross_profit_usd_per_month: Bands
    gross_margin_fraction: Bands
    cash_usd: Bands  # end of month
    rival_price_usd_per_million_tokens: tuple[Bands, ...]
    rival_subsidy_exhausted_fraction: tuple[float, ...]  # share of paths where the budget ran out
    survival_curve_fraction: np.ndarray  # share of paths solvent at the end of each month
    survival_probability: float  # to the horizon
    breakeven_month: int | None  # median first month with operating profit >= 0 (after amortisation)
    breakeven_paths_fraction: float
    payback_month: int | None  # median first month cumulative contribution covers the one-off spend
    death_month: int | None  # median first month with cash < 0; None if most paths survive
    runway_months: (
        float | None
    )  # median (starting cash - one-off spend) / month-1 operating burn; None: no burn
    # c0 x multiplier x k^(-(t-1)/12) by month, percentiles over paths (all equal when nothing is uncertain)
    unit_cost_usd_per_million_tokens_by_month: Bands | None = None
    price_floor_usd_per_million_tokens_by_month: Bands | None = None  # the above x (1 + floor margin)
    market_shares: MarketShares | None = None  # every firm's share of all demand, medians by month
    # Paths that have broken even / paid back by the end of each month (counts, not in to_dict): a run split
    # into chunks of paths merges its median months exactly from these (app/engine/market/chunked.py).
    breakeven_count_by_month: np.ndarray | None = None
    payback_count_by_month: np.ndarray | None = None

    @property
    def cash_at_horizon_p50_usd(self) -> float:
        return float(self.cash_usd.p50[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "levers": list(self.levers),
            "unit_cost_usd_per_million_tokens": self.unit_cost_usd_per_million_tokens,
            "price_floor_usd_per_million_tokens": self.price_floor_usd_per_million_tokens,
            "full_cost_price_usd_per_million_tokens": self.full_cost_price_usd_per_million_tokens,
            "one_off_training_usd": self.one_off_training_usd,
            "quality_delta_points": self.quality_delta_points,
            "capacity_million_tokens_per_month": self.capacity_million_tokens_per_month,
            "survival_probability": self.survival_probability,
            "survival_curve": [float(v) for v in self.survival_curve_fraction],
            "breakeven_month": self.breakeven_month,
            "breakeven_paths_fraction": self.breakeven_paths_fraction,
            "payback_month": self.payback_month,
            "death_month": self.death_month,
            "runway_months": self.runway_months,
            "cash_at_horizon_p50_usd": self.cash_at_horizon_p50_usd,
            "price_usd_per_million_tokens": self.price_usd_per_million_tokens.to_dict(),
            "volume_million_tokens_per_month": self.volume_million_tokens_per_month.to_dict(),
            "share_fraction": self.share_fraction.to_dict(),
            "revenue_usd_per_month": self.revenue_usd_per_month.to_dict(),
            "gross_profit_usd_per_month": self.gross_profit_usd_per_month.to_dict(),
            "gross_margin_fraction": self.gross_margin_fraction.to_dict(),
            "cash_usd": self.cash_usd.to_dict(),
            "rival_price_usd_per_million_tokens": [
                b.to_dict() for b in self.rival_price_usd_per_million_tokens
            ],
            "rival_subsidy_exhausted_fraction": list(self.rival_subsidy_exhausted_fraction),
            "closed_forms": {key: form.to_dict() for key, form in self.closed_forms.items()},
        } | self._monthly_extras()

    def _monthly_extras(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.unit_cost_usd_per_million_tokens_by_month is not None:
            out["unit_cost_usd_per_million_tokens_by_month"] = (
                self.unit_cost_usd_per_million_tokens_by_month.to_dict()
            )
        if self.price_floor_usd_per_million_tokens_by_month is not None:
            out["price_floor_usd_per_million_tokens_by_month"] = (
                self.price_floor_usd_per_million_tokens_by_month.to_dict()
            )
        if self.market_shares is not None:
            out["shares_of_all_demand_fraction_p50"] = self.market_shares.to_dict()
        return out


MONTHLY_SERIES: tuple[str, ...] = (
    "price_usd_per_million_tokens",
    "volume_million_tokens_per_month",
    "share_fraction",
    "revenue_usd_per_month",
    "gross_profit_usd_per_month",
    "gross_margin_fraction",
    "cash_usd",
)


def monthly_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The month-by-month table of a result in its dict form (`SimulationResult.to_dict()`, as stored):
    one row per strategy and month with survival, every series' percentiles and the rivals' median prices."""
    rows = []
    months = results.get("months") or list(range(1, int(results["horizon_months"]) + 1))
    rivals = results.get("rival_names", [])
    for s in results["strategies"]:
        for t, month in enumerate(months):
            row: dict[str, Any] = {
                "strategy": s["name"],
                "month": month,
                "survival_fraction": s["survival_curve"][t],
            }
            for series in MONTHLY_SERIES:
                for band in BAND_NAMES:
                    row[f"{series}_{band}"] = s[series][band][t]
            for name, bands in zip(rivals, s.get("rival_price_usd_per_million_tokens", []), strict=False):
                row[f"rival_price_usd_per_million_tokens_{name}_p50"] = bands["p50"][t]
            for series in (
                "unit_cost_usd_per_million_tokens_by_month",
                "price_floor_usd_per_million_tokens_by_month",
            ):
                if s.get(series):  # absent on runs stored before it was added
                    row[f"{series.removesuffix('_by_month')}_p50"] = s[series]["p50"][t]
            rows.append(row)
    return rows


@dataclass(frozen=True)
class LeverContribution:
    """What pulling one lever changes, averaged over pairs of strategies differing by that lever alone."""

    lever: str
    pairs_count: int
    survival_probability_delta: float
    cash_at_horizon_p50_usd_delta: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def lever_contributions(strategies: tuple[StrategyResult, ...]) -> tuple[LeverContribution, ...]:
    by_levers = {frozenset(s.levers): s for s in strategies}
    out = []
    for lever in sorted({lever for s in strategies for lever in s.levers}):
        pairs = [
            (without, by_levers[key | {lever}])
            for key, without in by_levers.items()
            if lever not in key and key | {lever} in by_levers
        ]
        if not pairs:
            continue
        out.append(
            LeverContribution(
                lever=lever,
                pairs_count=len(pairs),
                survival_probability_delta=float(
                    np.mean([w.survival_probability - wo.survival_probability for wo, w in pairs])
                ),
                cash_at_horizon_p50_usd_delta=float(
                    np.mean([w.cash_at_horizon_p50_usd - wo.cash_at_horizon_p50_usd for wo, w in pairs])
                ),
            )
        )
    return tuple(out)


@dataclass(frozen=True, eq=False)
class SimulationResult:
    horizon_months: int
    paths_count: int
    rival_names: tuple[str, ...]
    strategies: tuple[StrategyResult, ...]
    rival_stamina: tuple[RivalStamina, ...]
    cash_paths_usd: np.ndarray | None = None  # (S, T, P) when asked for (tests, small runs)

    @property
    def months(self) -> list[int]:
        return list(range(1, self.horizon_months + 1))

    def strategy(self, name: str) -> StrategyResult:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    def ranking_by_survival(self) -> list[str]:
        """Names, best first: survival probability, then median cash at the horizon, then name."""
        ranked = sorted(
            self.strategies, key=lambda s: (-s.survival_probability, -s.cash_at_horizon_p50_usd, s.name)
        )
        return [s.name for s in ranked]

    def ranking_by_cash(self) -> list[str]:
        ranked = sorted(
            self.strategies, key=lambda s: (-s.cash_at_horizon_p50_usd, -s.survival_probability, s.name)
        )
        return [s.name for s in ranked]

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_months": self.horizon_months,
            "paths_count": self.paths_count,
            "months": self.months,
            "rival_names": list(self.rival_names),
            "rival_stamina": [r.to_dict() for r in self.rival_stamina],
            "ranking_by_survival": self.ranking_by_survival(),
            "ranking_by_cash": self.ranking_by_cash(),
            "lever_contributions": [c.to_dict() for c in lever_contributions(self.strategies)],
            "strategies": [s.to_dict() for s in self.strategies],
        }

    def monthly_rows(self) -> list[dict[str, Any]]:
        """The month-by-month table (one row per strategy and month), e.g. for a CSV export."""
        return monthly_rows(self.to_dict())
