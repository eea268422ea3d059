"""Backtest of a preset against dated list prices: each rival's simulated price band by month beside the
prices it actually listed (docs/methodology/market-model.md, "Calibration to the 2024 episode").

Only prices are compared: no token volumes of the 2024 episode are public beyond a few statements by one
firm, so nothing here fits or checks volumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.market.scenario import Scenario, Strategy
from app.engine.market.simulation import run_simulation

ROUNDING_FRACTION = 1e-3  # list prices are stored to 4 significant digits ($0.2778 for RMB 2 at 7.2)


@dataclass(frozen=True)
class Observation:
    rival: str  # the rival's name in the scenario
    month: int  # 1 = the scenario's first month
    price_usd_per_million_tokens: float
    label: str  # what was observed (model name and date)


@dataclass(frozen=True)
class Comparison:
    observation: Observation
    simulated_p5: float
    simulated_p50: float
    simulated_p95: float

    @property
    def inside_band(self) -> bool:
        price = self.observation.price_usd_per_million_tokens
        slack = ROUNDING_FRACTION * max(abs(price), 1e-9)  # the sheet keeps 4 significant digits
        return self.simulated_p5 - slack <= price <= self.simulated_p95 + slack

    @property
    def log_error(self) -> float | None:
        """ln(simulated median / observed); None when either is 0 (a free tier)."""
        observed = self.observation.price_usd_per_million_tokens
        if observed <= 0 or self.simulated_p50 <= 0:
            return None
        return math.log(self.simulated_p50 / observed)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.observation.__dict__,
            "simulated_p5": self.simulated_p5,
            "simulated_p50": self.simulated_p50,
            "simulated_p95": self.simulated_p95,
            "inside_band": self.inside_band,
            "log_error": self.log_error,
        }


@dataclass(frozen=True)
class Backtest:
    months: tuple[int, ...]
    rival_bands: dict[str, dict[str, list[float]]]  # name -> p5/p50/p95 by month
    comparisons: tuple[Comparison, ...]

    @property
    def inside_fraction(self) -> float:
        return (
            sum(c.inside_band for c in self.comparisons) / len(self.comparisons) if self.comparisons else 0.0
        )

    @property
    def median_abs_log_error(self) -> float | None:
        errors = [abs(e) for c in self.comparisons if (e := c.log_error) is not None]
        return float(np.median(errors)) if errors else None


def backtest(
    scenario: Scenario,
    strategy: Strategy,
    observations: list[Observation],
    rng: np.random.Generator,
    *,
    paths_count: int = 2_000,
) -> Backtest:
    result = run_simulation(scenario, (strategy,), rng, paths_count=paths_count)
    s = result.strategies[0]
    bands: dict[str, dict[str, list[float]]] = {}
    for name, b in zip(result.rival_names, s.rival_price_usd_per_million_tokens, strict=True):
        bands[name] = {
            "p5": [float(x) for x in b.p5],
            "p50": [float(x) for x in b.p50],
            "p95": [float(x) for x in b.p95],
        }
    comparisons = []
    for obs in observations:
        if obs.rival not in bands or not 1 <= obs.month <= scenario.horizon_months:
            continue
        band = bands[obs.rival]
        t = obs.month - 1
        comparisons.append(Comparison(obs, band["p5"][t], band["p50"][t], band["p95"][t]))
    return Backtest(tuple(range(1, scenario.horizon_months + 1)), bands, tuple(comparisons))
