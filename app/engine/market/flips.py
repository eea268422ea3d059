"""What flips the answer: for each uncertain input, the value at which the headline P(survive) crosses 50 %.

The input is pinned at a value (every other input keeps its range) and the survival probability is read on
common random numbers: the same uniforms for every value tried, so the curve in that input is free of Monte
Carlo noise between values. The crossing is bracketed by the ends of the input's range (its low and high for
a range; 0.5x and 2x today's value for a plain number) and found by bisection; when both ends sit on the same
side of 50 %, the answer is "never, within its range" (docs/methodology/market-model.md, "What flips the
answer").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.market.errors import ScenarioError
from app.engine.market.sampling import PathInputs, draw_uniforms, sample_inputs, slot_ranges
from app.engine.market.scenario import Range, Scenario, Strategy
from app.engine.market.sensitivity import NUMERIC_INPUTS, with_input
from app.engine.market.simulation import simulate

NUMERIC_SPAN = (0.5, 2.0)  # a plain number is searched between half and twice today's value


@dataclass(frozen=True)
class Flip:
    input: str
    now: float  # today's value: the central value of a range, or the number
    low: float
    high: float
    survival_at_low: float
    survival_at_high: float
    threshold: float | None  # where P(survive) crosses the level; None: never within [low, high]
    falls_below_when: str | None  # "above" or "below" the threshold; None when it never crosses

    @property
    def distance(self) -> float:
        """How far today's value is from the threshold, as a fraction of the range searched."""
        if self.threshold is None:
            return math.inf
        span = self.high - self.low
        return abs(self.threshold - self.now) / span if span > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "distance_fraction": None if math.isinf(self.distance) else self.distance}


@dataclass(frozen=True)
class FlipAnalysis:
    strategy: str
    level: float
    survival_probability: float  # the headline, every input uncertain
    paths_count: int
    flips: tuple[Flip, ...]  # closest to today first; "never" last

    def closest(self, count: int = 3) -> tuple[Flip, ...]:
        return tuple(f for f in self.flips if f.threshold is not None)[:count]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "level_fraction": self.level,
            "survival_probability": self.survival_probability,
            "paths_count": self.paths_count,
            "flips": [f.to_dict() for f in self.flips],
            "closest": [f.input for f in self.closest()],
        }


def _candidates(scenario: Scenario) -> list[tuple[str, float, float, float, bool]]:
    """(input, now, low, high, is_range) for every uncertain input and every plain number searched."""
    out = []
    for name, r in slot_ranges(scenario).items():
        if not r.is_fixed:
            out.append((name, r.central, r.low, r.high, True))
    for name in NUMERIC_INPUTS:
        section, attr = name.split(".")
        value = float(getattr(getattr(scenario, section), attr))
        if value != 0:
            lo, hi = sorted((value * NUMERIC_SPAN[0], value * NUMERIC_SPAN[1]))
            out.append((name, value, lo, hi, False))
    return out


MAX_BATCH_PATHS = 20_000  # paths simulated together when variants are stacked


def _stack(parts: list[PathInputs]) -> PathInputs:
    return PathInputs(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts], axis=0)
            for f in dataclasses.fields(PathInputs)
        }
    )


def _batched_survival(
    scenario: Scenario, strategy: Strategy, uniforms: np.ndarray, variants: list[tuple[str, float]]
) -> list[float | None]:
    """P(survive) with each (input, value) pinned, every variant on the same uniforms. Variants of per-path
    inputs are stacked as extra paths of one simulation (paths never interact, so this is exact and saves the
    per-run overhead); None for a value the scenario refuses."""
    n = uniforms.shape[0]
    out: list[float | None] = [None] * len(variants)
    parts: list[tuple[int, PathInputs]] = []
    for k, (name, value) in enumerate(variants):
        try:
            parts.append((k, sample_inputs(with_input(scenario, name, Range.fixed(value)), uniforms)))
        except ScenarioError:
            continue
    per_call = max(1, MAX_BATCH_PATHS // n)
    for start in range(0, len(parts), per_call):
        chunk = parts[start : start + per_call]
        result = simulate(scenario, (strategy,), _stack([p for _, p in chunk]), keep_cash_paths=True)
        assert result.cash_paths_usd is not None
        alive = (result.cash_paths_usd[0] >= 0.0).all(axis=0)  # (paths,)
        for i, (k, _) in enumerate(chunk):
            out[k] = float(alive[i * n : (i + 1) * n].mean())
    return out


def flip_thresholds(
    scenario: Scenario,
    strategy: Strategy,
    rng: np.random.Generator,
    *,
    paths_count: int = 500,
    level: float = 0.5,
    steps: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> FlipAnalysis:
    """Ranges are searched all at once (each bisection step is one stacked simulation); plain numbers (cash,
    fixed costs, volume) change the scenario itself and are searched one run at a time."""
    if not 0 < level < 1:
        raise ScenarioError("level_fraction", f"must be between 0 and 1, got {level}")
    if not 1 <= paths_count <= 100_000:
        raise ScenarioError("paths_count", f"must be between 1 and 100000, got {paths_count}")
    uniforms = draw_uniforms(scenario, paths_count, rng)

    def survival(variant: Scenario) -> float:
        result = simulate(variant, (strategy,), sample_inputs(variant, uniforms))
        return result.strategies[0].survival_probability

    headline = survival(scenario)
    candidates = _candidates(scenario)
    total_steps = 2 + steps
    done = 0

    # ranges: ends first, then the bisection of every input that crosses, each round one stacked run
    ranged = [c for c in candidates if c[4]]
    ends = _batched_survival(
        scenario, strategy, uniforms, [(c[0], c[2]) for c in ranged] + [(c[0], c[3]) for c in ranged]
    )
    state = {}
    for i, (name, now, low, high, _) in enumerate(ranged):
        s_low, s_high = ends[i], ends[len(ranged) + i]
        if s_low is None or s_high is None:
            continue
        state[name] = [now, low, high, s_low, s_high, low, high, s_low]  # ..., a, b, s_a
    crossing = [n for n, v in state.items() if (v[3] < level) != (v[4] < level)]
    for _ in range(steps):
        if not crossing:
            break
        mids = [(n, 0.5 * (state[n][5] + state[n][6])) for n in crossing]
        values = _batched_survival(scenario, strategy, uniforms, mids)
        for (n, mid), s_mid in zip(mids, values, strict=True):
            v = state[n]
            if s_mid is None:
                continue
            if (s_mid < level) == (v[7] < level):
                v[5], v[7] = mid, s_mid
            else:
                v[6] = mid
        done += 1
        if progress is not None:
            progress(done, total_steps + len(candidates) - len(ranged))
    flips = []
    for name, (now, low, high, s_low, s_high, a, b, _s_a) in state.items():
        if name in crossing:
            when = "above" if s_high < level else "below"
            flips.append(Flip(name, now, low, high, s_low, s_high, 0.5 * (a + b), when))
        else:
            flips.append(Flip(name, now, low, high, s_low, s_high, None, None))

    # plain numbers: one run per value
    for name, now, low, high, _ in (c for c in candidates if not c[4]):

        def at(value: float, name: str = name) -> float:
            return survival(with_input(scenario, name, value))

        try:
            s_low, s_high = at(low), at(high)
            threshold: float | None = None
            side: str | None = None
            if (s_low < level) != (s_high < level):
                a, b, s_a = low, high, s_low
                for _ in range(steps):
                    mid = 0.5 * (a + b)
                    s_mid = at(mid)
                    if (s_mid < level) == (s_a < level):
                        a, s_a = mid, s_mid
                    else:
                        b = mid
                threshold = 0.5 * (a + b)
                side = "above" if s_high < level else "below"
        except ScenarioError:
            continue
        finally:
            done += 1
            if progress is not None:
                progress(done, total_steps + len(candidates) - len(ranged))
        flips.append(Flip(name, now, low, high, s_low, s_high, threshold, side))
    flips.sort(key=lambda f: (f.distance, f.input))
    return FlipAnalysis(strategy.name, level, headline, paths_count, tuple(flips))
