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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.engine.market.closed_forms import strategy_closed_forms
from app.engine.market.sampling import draw_uniforms, sample_inputs, slot_names
from app.engine.market.scenario import Scenario, Strategy
from app.engine.market.simulation import simulate
from app.engine.market.summary import (
    Bands,
    MarketShares,
    SimulationResult,
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
    """What the merge needs of a chunk's result, as an .npz (numbers exact; no pickle)."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"paths_count": result.paths_count, "strategies": []}
    for i, s in enumerate(result.strategies):
        for key in _BAND_FIELDS + _OPTIONAL_BAND_FIELDS:
            bands = getattr(s, key)
            if bands is not None:
                arrays[f"{i}.{key}"] = _rows(bands)
        if s.rival_price_usd_per_million_tokens:
            arrays[f"{i}.rival_price"] = np.stack([_rows(b) for b in s.rival_price_usd_per_million_tokens])
        arrays[f"{i}.survival"] = np.asarray(s.survival_curve_fraction, dtype=float)
        if s.breakeven_count_by_month is None or s.payback_count_by_month is None:
            raise ValueError("the engine's result lacks the per-month counts a merge needs")
        arrays[f"{i}.breakeven_count"] = np.asarray(s.breakeven_count_by_month, dtype=np.int64)
        arrays[f"{i}.payback_count"] = np.asarray(s.payback_count_by_month, dtype=np.int64)
        arrays[f"{i}.subsidy_exhausted"] = np.asarray(s.rival_subsidy_exhausted_fraction, dtype=float)
        if s.market_shares is not None:
            arrays[f"{i}.shares"] = np.stack(
                [s.market_shares.ours, *s.market_shares.rivals, s.market_shares.outside_option]
            )
        meta["strategies"].append(
            {
                "name": s.name,
                "unit_cost": s.unit_cost_usd_per_million_tokens,
                "runway": s.runway_months,
                "shares_paths_used": s.market_shares.paths_used if s.market_shares is not None else 0,
            }
        )
    out = io.BytesIO()
    np.savez_compressed(out, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
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
    # Static fields (names, levers, capacity, closed-form inputs) from a one-path run on the same inputs.
    middle = np.full((1, len(slot_names(scenario))), 0.5, dtype=np.float32)
    template = simulate(scenario, strategies, sample_inputs(scenario, middle))

    def mean(key: str) -> np.ndarray:
        stacked = np.stack([p.arrays[key] for p in parts])
        weights = w.reshape((-1,) + (1,) * (stacked.ndim - 1))
        with np.errstate(invalid="ignore"):
            return np.asarray((stacked * weights).sum(axis=0))

    def counted(key: str) -> np.ndarray:
        """A fraction of paths, back to a number of paths per chunk, summed (exact)."""
        return np.asarray(sum(np.rint(p.arrays[key] * p.paths_count).astype(np.int64) for p in parts))

    merged = []
    for i, (st, tpl) in enumerate(zip(strategies, template.strategies, strict=True)):
        alive = counted(f"{i}.survival")
        breakeven = sum(p.arrays[f"{i}.breakeven_count"] for p in parts)
        payback = sum(p.arrays[f"{i}.payback_count"] for p in parts)
        survival = np.asarray(alive, dtype=float) / n_total
        unit_cost = float(
            sum(wk * p.meta["strategies"][i]["unit_cost"] for wk, p in zip(w, parts, strict=True))
        )
        runways = [p.meta["strategies"][i]["runway"] for p in parts]
        runway = (
            None
            if any(r is None for r in runways)
            else float(sum(wk * r for wk, r in zip(w, runways, strict=True)))
        )
        margin = 1.0 + scenario.firm.pricing.floor_margin_fraction
        bands = {key: Bands.from_rows(mean(f"{i}.{key}")) for key in _BAND_FIELDS}
        optional = {
            key: Bands.from_rows(mean(f"{i}.{key}")) if f"{i}.{key}" in parts[0].arrays else None
            for key in _OPTIONAL_BAND_FIELDS
        }
        shares = None
        if f"{i}.shares" in parts[0].arrays:
            used = [p.meta["strategies"][i]["shares_paths_used"] for p in parts]
            sw = np.array(used, dtype=float) / max(sum(used), 1)
            rows = sum(sk * p.arrays[f"{i}.shares"] for sk, p in zip(sw, parts, strict=True))
            rows = np.asarray(rows)
            shares = MarketShares(
                ours=rows[0], rivals=tuple(rows[1:-1]), outside_option=rows[-1], paths_used=int(sum(used))
            )
        rival_bands = (
            tuple(Bands.from_rows(r) for r in mean(f"{i}.rival_price"))
            if f"{i}.rival_price" in parts[0].arrays
            else ()
        )
        merged.append(
            replace(
                tpl,
                closed_forms=strategy_closed_forms(scenario, unit_cost, st.one_off_training_usd),
                unit_cost_usd_per_million_tokens=unit_cost,
                price_floor_usd_per_million_tokens=unit_cost * margin,
                full_cost_price_usd_per_million_tokens=tpl.full_cost_price_usd_per_million_tokens
                - tpl.unit_cost_usd_per_million_tokens
                + unit_cost,
                price_usd_per_million_tokens=bands["price_usd_per_million_tokens"],
                volume_million_tokens_per_month=bands["volume_million_tokens_per_month"],
                share_fraction=bands["share_fraction"],
                revenue_usd_per_month=bands["revenue_usd_per_month"],
                gross_profit_usd_per_month=bands["gross_profit_usd_per_month"],
                gross_margin_fraction=bands["gross_margin_fraction"],
                cash_usd=bands["cash_usd"],
                rival_price_usd_per_million_tokens=rival_bands,
                rival_subsidy_exhausted_fraction=tuple(
                    float(v) / n_total for v in counted(f"{i}.subsidy_exhausted")
                ),
                survival_curve_fraction=survival,
                survival_probability=float(survival[-1]),
                breakeven_month=median_month(breakeven, n_total),
                breakeven_paths_fraction=float(breakeven[-1] / n_total),
                payback_month=median_month(payback, n_total),
                death_month=median_month(n_total - np.asarray(alive), n_total),
                runway_months=runway if runway is None or math.isfinite(runway) else None,
                unit_cost_usd_per_million_tokens_by_month=optional[
                    "unit_cost_usd_per_million_tokens_by_month"
                ],
                price_floor_usd_per_million_tokens_by_month=optional[
                    "price_floor_usd_per_million_tokens_by_month"
                ],
                market_shares=shares,
                breakeven_count_by_month=np.asarray(breakeven),
                payback_count_by_month=np.asarray(payback),
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
