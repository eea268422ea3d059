"""Tornado sensitivity: one input at a time to its low and its high, everything else on the same draws.

Common random numbers: the uniforms behind every uncertain input are drawn once; a variant pins one input
to a value and re-reads the others from the same uniforms, so a bar's width is that input's effect and not
Monte Carlo noise (docs/methodology/market-model.md, "Sensitivity").
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.engine.market.errors import ScenarioError
from app.engine.market.sampling import draw_uniforms, sample_inputs, slot_ranges
from app.engine.market.scenario import Range, Scenario, Strategy
from app.engine.market.simulation import simulate
from app.engine.market.summary import SimulationResult

Outcome = Literal["cash_at_month", "survival_probability"]

# Inputs that are numbers, not ranges: varied by +/- spread_fraction around their value.
NUMERIC_INPUTS: tuple[str, ...] = (
    "firm.starting_cash_usd",
    "firm.fixed_costs_usd_per_month",
    "market.volume_million_tokens_per_month",
)


@dataclass(frozen=True)
class TornadoBar:
    input: str
    low_value: float
    high_value: float
    outcome_at_low: float
    outcome_at_high: float

    @property
    def swing(self) -> float:
        return abs(self.outcome_at_high - self.outcome_at_low)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "swing": self.swing}


@dataclass(frozen=True)
class Tornado:
    outcome: Outcome
    outcome_month: int
    strategy: str
    base_value: float
    bars: tuple[TornadoBar, ...]  # widest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "outcome_month": self.outcome_month,
            "strategy": self.strategy,
            "base_value": self.base_value,
            "bars": [b.to_dict() for b in self.bars],
        }


_PATH = re.compile(r"^(firm|market)\.(\w+)$|^rivals\[(\d+)\]\.(\w+)$|^rivals\[(\d+)\]\.cuts\[(\d+)\]\.(\w+)$")


def with_input(scenario: Scenario, name: str, value: float | Range) -> Scenario:
    """A copy of the scenario with one input (dotted path, as in slot names) replaced."""
    m = _PATH.match(name)
    if not m:
        raise ScenarioError("inputs", f"unknown input {name!r}")
    if m.group(1):
        part = getattr(scenario, m.group(1))
        return dataclasses.replace(scenario, **{m.group(1): dataclasses.replace(part, **{m.group(2): value})})
    rivals = list(scenario.rivals)
    if m.group(3) is not None:
        i = int(m.group(3))
        rivals[i] = dataclasses.replace(rivals[i], **{m.group(4): value})  # type: ignore[arg-type]
    else:
        i, j = int(m.group(5)), int(m.group(6))
        cuts = list(rivals[i].cuts)
        cuts[j] = dataclasses.replace(cuts[j], **{m.group(7): value})  # type: ignore[arg-type]
        rivals[i] = dataclasses.replace(rivals[i], cuts=tuple(cuts))
    return dataclasses.replace(scenario, rivals=tuple(rivals))


def _read(result: SimulationResult, outcome: Outcome, month: int) -> float:
    s = result.strategies[0]
    if outcome == "survival_probability":
        return float(s.survival_curve_fraction[month - 1])
    return float(s.cash_usd.p50[month - 1])


def tornado(
    scenario: Scenario,
    strategy: Strategy,
    rng: np.random.Generator,
    *,
    outcome: Outcome = "cash_at_month",
    outcome_month: int = 24,
    paths_count: int | None = None,
    spread_fraction: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> Tornado:
    """Vary each uncertain input between its range's low and high (numbers by +/- spread_fraction).

    The outcome is the median cash at `outcome_month`, or the survival probability at that month; the
    month is capped at the horizon. `progress(done, total)`, when given, is called after each run (the base
    and each variant's low and high); it may raise to stop the tornado (a cancelled background job).
    """
    if outcome not in ("cash_at_month", "survival_probability"):
        raise ScenarioError("outcome", f"must be cash_at_month or survival_probability, got {outcome!r}")
    if isinstance(outcome_month, bool) or not isinstance(outcome_month, int) or outcome_month < 1:
        raise ScenarioError("outcome_month", f"must be a whole number >= 1, got {outcome_month!r}")
    if not 0 < spread_fraction < 1:
        raise ScenarioError("spread_fraction", f"must be between 0 and 1, got {spread_fraction}")
    month = min(outcome_month, scenario.horizon_months)
    n_paths = scenario.paths_count if paths_count is None else paths_count
    if not 1 <= n_paths <= 100_000:
        raise ScenarioError("paths_count", f"must be between 1 and 100000, got {n_paths}")
    uniforms = draw_uniforms(scenario, n_paths, rng)

    def run(variant: Scenario) -> float:
        return _read(simulate(variant, (strategy,), sample_inputs(variant, uniforms)), outcome, month)

    variants: list[tuple[str, float | Range, float | Range, float, float]] = []
    for name, r in slot_ranges(scenario).items():
        if not r.is_fixed:
            variants.append((name, Range.fixed(r.low), Range.fixed(r.high), r.low, r.high))
    for name in NUMERIC_INPUTS:
        section, attr = name.split(".")
        value = float(getattr(getattr(scenario, section), attr))
        if value != 0:
            lo, hi = sorted((value * (1 - spread_fraction), value * (1 + spread_fraction)))
            variants.append((name, lo, hi, lo, hi))

    total_runs = 1 + 2 * len(variants)
    base = run(scenario)
    if progress is not None:
        progress(1, total_runs)
    bars = []
    for k, (name, low, high, low_value, high_value) in enumerate(variants):
        try:
            at_low, at_high = run(with_input(scenario, name, low)), run(with_input(scenario, name, high))
        except ScenarioError:  # e.g. a share pushed out of range: leave the bar out rather than fail
            continue
        finally:
            if progress is not None:
                progress(3 + 2 * k, total_runs)
        bars.append(TornadoBar(name, low_value, high_value, at_low, at_high))
    bars.sort(key=lambda b: (-b.swing, b.input))
    return Tornado(outcome, month, strategy.name, base, tuple(bars))
