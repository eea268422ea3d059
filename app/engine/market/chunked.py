"""A Monte Carlo run split into chunks of paths that separate workers compute, then merged into one result.

Common random numbers whatever the chunking: path i's draws come from block i // BLOCK_PATHS, seeded by
`SeedSequence(seed, spawn_key=(block,))` (numpy's independent child streams), so a path sees the same
uniforms whether it is computed in a chunk of 1,000 paths or of 50,000, by one worker or another, first or
last. A chunk is a whole number of blocks.

Merging: what counts paths is exact — the survival curve and probability, the median death, break-even and
payback months (from the per-month counts), the break-even and subsidy-exhausted fractions — and is the same
for every chunk size. Percentile bands, the month-1 median unit cost, the median runway and the share medians
are the path-weighted means of the chunks' own percentiles (order statistics do not add up across chunks
without keeping every path); with chunks of thousands of paths they sit within Monte Carlo noise of the
single-run percentiles, and for a given chunk size the result is fixed by the seed alone.

Pure numpy + standard library, like the rest of the engine.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.market.closed_forms import strategy_closed_forms
from app.engine.market.sampling import draw_uniforms, sample_inputs
from app.engine.market.scenario import Scenario, Strategy
from app.engine.market.simulation import capacity_million_tokens_per_month, simulate
from app.engine.market.summary import (
    Bands,
    MarketShares,
    SimulationResult,
    StrategyResult,
    median_month,
    rival_stamina,
)

BLOCK_PATHS = 1_000  # the unit of seeding: a chunk is a whole number of blocks
DEFAULT_CHUNK_PATHS = 10_000  # ~0.5-1 s of work for 16 strategies x 36-60 months: cancel and progress steps

_BAND_FIELDS: tuple[str, ...] = (
    "price_usd_per_million_tokens",
    "volume_million_tokens_per_month",
    "share_fraction",
    "revenue_usd_per_month",
    "gross_profit_usd_per_month",
    "gross_margin_fraction",
    "cash_usd",
)
_OPTIONAL_BAND_FIELDS: tuple[str, ...] = (
    "unit_cost_usd_per_million_tokens_by_month",
    "price_floor_usd_per_million_tokens_by_month",
)


@dataclass(frozen=True)
class Chunk:
    index: int
    first_path: int
    paths_count: int


def plan_chunks(paths_count: int, chunk_paths: int = DEFAULT_CHUNK_PATHS) -> tuple[Chunk, ...]:
    """Consecutive chunks of `chunk_paths` paths (rounded up to whole blocks); the last may be shorter."""
    if paths_count < 1:
        raise ValueError("paths_count must be >= 1")
    size = max(BLOCK_PATHS, -(-chunk_paths // BLOCK_PATHS) * BLOCK_PATHS)
    return tuple(
        Chunk(k, start, min(size, paths_count - start)) for k, start in enumerate(range(0, paths_count, size))
    )


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The generator of one block of paths: independent of every other block and of the chunking."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))


def chunk_uniforms(scenario: Scenario, seed: int, chunk: Chunk) -> np.ndarray:
    """The (paths x slots) uniforms of a chunk: its blocks' draws, stacked."""
    if chunk.first_path % BLOCK_PATHS:
        raise ValueError("a chunk starts on a block boundary")
    parts = []
    remaining, block = chunk.paths_count, chunk.first_path // BLOCK_PATHS
    while remaining > 0:
        n = min(BLOCK_PATHS, remaining)
        parts.append(draw_uniforms(scenario, n, block_rng(seed, block)))
        remaining -= n
        block += 1
    return np.concatenate(parts, axis=0)


def run_chunk(
    scenario: Scenario, strategies: Sequence[Strategy], seed: int, chunk: Chunk
) -> SimulationResult:
    """One chunk's result (every strategy on the chunk's paths)."""
    inputs = sample_inputs(scenario, chunk_uniforms(scenario, seed, chunk))
    return simulate(scenario, tuple(strategies), inputs)


# --- a chunk's result as bytes (stored between workers) -----------------------------------------------------


def pack(result: SimulationResult) -> bytes:
    """What the merge needs of a chunk's result, as an uncompressed .npz of a dozen arrays, one per field
    with the strategies on the first axis (numbers exact; no pickle)."""
    strategies = result.strategies
    arrays: dict[str, np.ndarray] = {}
    for key in _BAND_FIELDS + _OPTIONAL_BAND_FIELDS:
        if all(getattr(s, key) is not None for s in strategies):
            arrays[key] = np.stack([_rows(getattr(s, key)) for s in strategies])  # (S, 5, T)
    if result.rival_names:
        arrays["rival_price"] = np.stack(
            [np.stack([_rows(b) for b in s.rival_price_usd_per_million_tokens]) for s in strategies]
        )  # (S, R, 5, T)
    if any(s.breakeven_count_by_month is None or s.payback_count_by_month is None for s in strategies):
        raise ValueError("the engine's result lacks the per-month counts a merge needs")
    arrays["survival"] = np.stack([np.asarray(s.survival_curve_fraction, dtype=float) for s in strategies])
    arrays["breakeven_count"] = np.stack([np.asarray(s.breakeven_count_by_month) for s in strategies])
    arrays["payback_count"] = np.stack([np.asarray(s.payback_count_by_month) for s in strategies])
    arrays["subsidy_exhausted"] = np.array(
        [s.rival_subsidy_exhausted_fraction for s in strategies], dtype=float
    )
    if all(s.market_shares is not None for s in strategies):
        arrays["shares"] = np.stack(
            [
                np.stack([s.market_shares.ours, *s.market_shares.rivals, s.market_shares.outside_option])
                for s in strategies
                if s.market_shares is not None
            ]
        )  # (S, R + 2, T)
    meta: dict[str, Any] = {
        "paths_count": result.paths_count,
        "strategies": [
            {
                "name": s.name,
                "unit_cost": s.unit_cost_usd_per_million_tokens,
                # full-cost price = unit cost + (fixed costs + amortised training) / today's volume
                "full_cost_over_unit_cost": s.full_cost_price_usd_per_million_tokens
                - s.unit_cost_usd_per_million_tokens,
                "runway": s.runway_months,
                "shares_paths_used": s.market_shares.paths_used if s.market_shares is not None else 0,
            }
            for s in strategies
        ],
    }
    out = io.BytesIO()
    np.savez(out, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return out.getvalue()


@dataclass(frozen=True)
class Packed:
    paths_count: int
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def unpack(data: bytes) -> Packed:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    return Packed(int(meta["paths_count"]), meta, arrays)


def _rows(b: Bands) -> np.ndarray:
    return np.stack([b.p5, b.p25, b.p50, b.p75, b.p95]).astype(float)


# --- merging ------------------------------------------------------------------------------------------------


def merge(scenario: Scenario, strategies: Sequence[Strategy], parts: Sequence[Packed]) -> SimulationResult:
    """One result from the chunks of a run (see the module docstring for what is exact)."""
    if not parts:
        raise ValueError("nothing to merge")
    strategies = tuple(strategies)
    n_total = sum(p.paths_count for p in parts)
    w = np.array([p.paths_count for p in parts], dtype=float) / n_total
    capacity = capacity_million_tokens_per_month(scenario, strategies)
    margin = 1.0 + scenario.firm.pricing.floor_margin_fraction

    def mean(key: str) -> np.ndarray:
        stacked = np.stack([p.arrays[key] for p in parts])
        weights = w.reshape((-1,) + (1,) * (stacked.ndim - 1))
        with np.errstate(invalid="ignore"):
            return np.asarray((stacked * weights).sum(axis=0))

    def counted(key: str) -> np.ndarray:
        """Fractions of paths, back to numbers of paths per chunk, summed (exact)."""
        return np.asarray(sum(np.rint(p.arrays[key] * p.paths_count).astype(np.int64) for p in parts))

    def scalar(i: int, key: str) -> float | None:
        values = [p.meta["strategies"][i][key] for p in parts]
        if any(v is None for v in values):
            return None
        return float(sum(wk * v for wk, v in zip(w, values, strict=True)))

    bands = {key: mean(key) for key in _BAND_FIELDS + _OPTIONAL_BAND_FIELDS if key in parts[0].arrays}
    rival_bands = mean("rival_price") if "rival_price" in parts[0].arrays else None
    alive = counted("survival")  # (S, T)
    breakeven = np.asarray(sum(p.arrays["breakeven_count"] for p in parts))
    payback = np.asarray(sum(p.arrays["payback_count"] for p in parts))
    exhausted = counted("subsidy_exhausted") / n_total  # (S, R)
    shares = None
    if "shares" in parts[0].arrays:
        used = np.array(
            [[p.meta["strategies"][i]["shares_paths_used"] for p in parts] for i in range(len(strategies))]
        )
        shares = [
            sum(
                (u / max(used[i].sum(), 1)) * p.arrays["shares"][i]
                for u, p in zip(used[i], parts, strict=True)
            )
            for i in range(len(strategies))
        ]

    merged = []
    for i, st in enumerate(strategies):
        unit_cost = scalar(i, "unit_cost") or 0.0
        runway = scalar(i, "runway")
        survival = alive[i] / n_total
        optional = {
            key: Bands.from_rows(bands[key][i]) if key in bands else None for key in _OPTIONAL_BAND_FIELDS
        }
        merged.append(
            StrategyResult(
                name=st.name,
                levers=tuple(sorted(st.levers)),
                closed_forms=strategy_closed_forms(scenario, unit_cost, st.one_off_training_usd),
                unit_cost_usd_per_million_tokens=unit_cost,
                price_floor_usd_per_million_tokens=unit_cost * margin,
                full_cost_price_usd_per_million_tokens=unit_cost
                + parts[0].meta["strategies"][i]["full_cost_over_unit_cost"],
                one_off_training_usd=st.one_off_training_usd,
                quality_delta_points=st.quality_delta_points,
                capacity_million_tokens_per_month=None if math.isinf(capacity[i]) else float(capacity[i]),
                price_usd_per_million_tokens=Bands.from_rows(bands["price_usd_per_million_tokens"][i]),
                volume_million_tokens_per_month=Bands.from_rows(bands["volume_million_tokens_per_month"][i]),
                share_fraction=Bands.from_rows(bands["share_fraction"][i]),
                revenue_usd_per_month=Bands.from_rows(bands["revenue_usd_per_month"][i]),
                gross_profit_usd_per_month=Bands.from_rows(bands["gross_profit_usd_per_month"][i]),
                gross_margin_fraction=Bands.from_rows(bands["gross_margin_fraction"][i]),
                cash_usd=Bands.from_rows(bands["cash_usd"][i]),
                rival_price_usd_per_million_tokens=tuple(Bands.from_rows(r) for r in rival_bands[i])
                if rival_bands is not None
                else (),
                rival_subsidy_exhausted_fraction=tuple(float(v) for v in exhausted[i]),
                survival_curve_fraction=survival,
                survival_probability=float(survival[-1]),
                breakeven_month=median_month(breakeven[i], n_total),
                breakeven_paths_fraction=float(breakeven[i, -1] / n_total),
                payback_month=median_month(payback[i], n_total),
                death_month=median_month(n_total - alive[i], n_total),
                runway_months=runway if runway is None or math.isfinite(runway) else None,
                unit_cost_usd_per_million_tokens_by_month=optional[
                    "unit_cost_usd_per_million_tokens_by_month"
                ],
                price_floor_usd_per_million_tokens_by_month=optional[
                    "price_floor_usd_per_million_tokens_by_month"
                ],
                market_shares=None
                if shares is None
                else MarketShares(
                    ours=shares[i][0],
                    rivals=tuple(shares[i][1:-1]),
                    outside_option=shares[i][-1],
                    paths_used=int(used[i].sum()),
                ),
                breakeven_count_by_month=breakeven[i],
                payback_count_by_month=payback[i],
            )
        )
    return SimulationResult(
        horizon_months=scenario.horizon_months,
        paths_count=n_total,
        rival_names=tuple(r.name for r in scenario.rivals),
        strategies=tuple(merged),
        rival_stamina=rival_stamina(scenario),
    )


def run_chunked(
    scenario: Scenario,
    strategies: Sequence[Strategy],
    seed: int,
    paths_count: int,
    chunk_paths: int = DEFAULT_CHUNK_PATHS,
) -> SimulationResult:
    """Every chunk in this process, then the merge: the reference a distributed run must equal."""
    chunks = plan_chunks(paths_count, chunk_paths)
    parts = [unpack(pack(run_chunk(scenario, strategies, seed, c))) for c in chunks]
    return merge(scenario, strategies, parts)


__all__ = [
    "BLOCK_PATHS",
    "DEFAULT_CHUNK_PATHS",
    "Chunk",
    "Packed",
    "block_rng",
    "merge",
    "pack",
    "plan_chunks",
    "run_chunk",
    "run_chunked",
    "unpack",
]
