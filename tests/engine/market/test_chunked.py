"""Chunked Monte Carlo (background jobs): common random numbers whatever the chunking.

A path's draws depend on the seed and its index only, never on which chunk computed it; what counts paths
merges exactly, so it is the same for every chunk size; the percentile bands merge as path-weighted means of
the chunks' percentiles, which stay within Monte Carlo noise of the percentiles over all paths at once.
"""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from app.engine.market import baseline_strategy, preset_from_dict
from app.engine.market.chunked import (
    BLOCK_PATHS,
    Chunk,
    chunk_uniforms,
    merge,
    pack,
    plan_chunks,
    run_chunk,
    run_chunked,
    unpack,
)
from app.engine.market.sampling import sample_inputs
from app.engine.market.simulation import simulate
from app.services.simulations import PRESET_DIR

SEED = 20240515
PATHS = 6_000


@pytest.fixture(scope="module")
def preset():  # type: ignore[no-untyped-def]
    """The China May-2024 preset (6 rivals, 5 subsidised) with its baseline and a cheaper strategy."""
    document = json.loads((PRESET_DIR / "china-may-2024.json").read_text(encoding="utf-8"))
    loaded = preset_from_dict(document)
    base = loaded.strategies[0] if loaded.strategies else baseline_strategy(loaded.scenario)
    cheaper = dataclasses.replace(
        base, name="half cost", unit_cost_usd_per_million_tokens=base.unit_cost_usd_per_million_tokens / 2
    )
    return dataclasses.replace(loaded, strategies=(base, cheaper))


def _exact(result):  # type: ignore[no-untyped-def]
    return [
        (
            s.name,
            s.survival_curve_fraction.tolist(),
            s.survival_probability,
            s.death_month,
            s.breakeven_month,
            s.payback_month,
            s.breakeven_paths_fraction,
            s.rival_subsidy_exhausted_fraction,
        )
        for s in result.strategies
    ]


def test_plan_covers_every_path_once_on_block_boundaries() -> None:
    for paths, size in ((1, 10_000), (999, 1_000), (6_000, 2_000), (10_001, 3_500), (100_000, 10_000)):
        chunks = plan_chunks(paths, size)
        assert sum(c.paths_count for c in chunks) == paths
        assert [c.first_path for c in chunks] == [
            sum(c.paths_count for c in chunks[:k]) for k in range(len(chunks))
        ]
        assert all(c.first_path % BLOCK_PATHS == 0 for c in chunks)


def test_a_paths_draws_do_not_depend_on_the_chunking(preset) -> None:  # type: ignore[no-untyped-def]
    whole = chunk_uniforms(preset.scenario, SEED, Chunk(0, 0, PATHS))
    for size in (1_000, 2_000, 5_000):
        for c in plan_chunks(PATHS, size):
            part = chunk_uniforms(preset.scenario, SEED, c)
            np.testing.assert_array_equal(part, whole[c.first_path : c.first_path + c.paths_count])
    other_seed = chunk_uniforms(preset.scenario, SEED + 1, Chunk(0, 0, PATHS))
    assert not np.array_equal(whole, other_seed)


def test_counts_merge_exactly_whatever_the_chunk_size(preset) -> None:  # type: ignore[no-untyped-def]
    results = [
        run_chunked(preset.scenario, preset.strategies, SEED, PATHS, size) for size in (1_000, 2_000, 6_000)
    ]
    assert _exact(results[0]) == _exact(results[1]) == _exact(results[2])
    # and equal to simulating every path at once on the same draws
    inputs = sample_inputs(preset.scenario, chunk_uniforms(preset.scenario, SEED, Chunk(0, 0, PATHS)))
    with np.errstate(all="ignore"):
        direct = simulate(preset.scenario, preset.strategies, inputs)
    for merged, one in zip(results[0].strategies, direct.strategies, strict=True):
        np.testing.assert_allclose(
            merged.survival_curve_fraction, one.survival_curve_fraction, rtol=0, atol=1e-12
        )
        assert (merged.death_month, merged.breakeven_month, merged.payback_month) == (
            one.death_month,
            one.breakeven_month,
            one.payback_month,
        )


def test_same_seed_same_result_whatever_order_or_worker_computes_the_chunks(preset) -> None:  # type: ignore[no-untyped-def]
    chunks = list(plan_chunks(PATHS, 2_000))
    packed = {c.index: pack(run_chunk(preset.scenario, preset.strategies, SEED, c)) for c in chunks}
    shuffled = chunks[:]
    random.Random(3).shuffle(shuffled)
    again = {c.index: pack(run_chunk(preset.scenario, preset.strategies, SEED, c)) for c in shuffled}
    assert packed == again  # byte for byte: a chunk is a pure function of (seed, index, size)
    a = merge(preset.scenario, preset.strategies, [unpack(packed[k]) for k in sorted(packed)])
    b = run_chunked(preset.scenario, preset.strategies, SEED, PATHS, 2_000)
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    other = run_chunked(preset.scenario, preset.strategies, SEED + 1, PATHS, 2_000)
    assert json.dumps(other.to_dict(), sort_keys=True) != json.dumps(b.to_dict(), sort_keys=True)


def test_merged_bands_stay_within_noise_of_the_all_paths_bands(preset) -> None:  # type: ignore[no-untyped-def]
    merged = run_chunked(preset.scenario, preset.strategies, SEED, PATHS, 2_000)
    inputs = sample_inputs(preset.scenario, chunk_uniforms(preset.scenario, SEED, Chunk(0, 0, PATHS)))
    with np.errstate(all="ignore"):
        direct = simulate(preset.scenario, preset.strategies, inputs)
    for m, d in zip(merged.strategies, direct.strategies, strict=True):
        spread = np.maximum(np.abs(d.cash_usd.p95 - d.cash_usd.p5), 1.0)
        assert np.all(np.abs(m.cash_usd.p50 - d.cash_usd.p50) <= 0.05 * spread)
        assert m.to_dict().keys() == d.to_dict().keys()  # the same shape of result as a single run
        assert (m.name, m.levers, m.capacity_million_tokens_per_month, m.one_off_training_usd) == (
            d.name,
            d.levers,
            d.capacity_million_tokens_per_month,
            d.one_off_training_usd,
        )
        assert m.full_cost_price_usd_per_million_tokens - m.unit_cost_usd_per_million_tokens == pytest.approx(
            d.full_cost_price_usd_per_million_tokens - d.unit_cost_usd_per_million_tokens
        )
        assert m.closed_forms.keys() == d.closed_forms.keys()
