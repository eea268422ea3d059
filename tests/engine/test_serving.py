"""Serving estimate and the quantization lever (docs/methodology/cost-model.md §8-14)."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import A100_SXM4_80GB, H100_SXM, PRECISIONS, bytes_per_value
from app.engine.serving import (
    CONCURRENCY_CANDIDATES,
    PlanDoesNotFit,
    ServingPlan,
    compute_bound_batch_size,
    estimate_serving,
)

LLAMA70 = PRESETS["Llama 2 70B"]


def plan(**kw: object) -> ServingPlan:
    values: dict[str, object] = dict(
        model=LLAMA70,
        accelerator=H100_SXM,
        gpus_per_replica_count=4,
        batch_size_count=8,
        price_usd_per_gpu_hour=2.5,
    )
    values.update(kw)
    return ServingPlan(**values)  # type: ignore[arg-type]


def test_llama2_70b_kv_cache_per_token_bf16_has_the_factor_two() -> None:
    est = estimate_serving(plan())
    assert est.kv_cache_bytes_per_token == 2 * 80 * 8 * 128 * 2 == 327_680


def test_kv_cache_scales_with_kv_heads_not_query_heads() -> None:
    gqa = estimate_serving(plan())
    mha = estimate_serving(plan(model=replace(LLAMA70, kv_head_count=64)))
    assert mha.kv_cache_bytes_per_token == 8 * gqa.kv_cache_bytes_per_token


def test_deepseek_mla_cache_is_the_compressed_latent() -> None:
    est = estimate_serving(
        plan(
            model=PRESETS["DeepSeek-V3"],
            gpus_per_replica_count=8,
            weight_precision="fp8",
            batch_size_count=1,
            accelerator=replace(H100_SXM, memory_gb=141),
        )
    )
    assert est.kv_cache_bytes_per_token == 61 * (512 + 64) * 2


def test_weights_per_gpu_and_cost_formula() -> None:
    est = estimate_serving(plan())
    assert_allclose(est.weights_gb_per_gpu, 68.98e9 * 2 / 4 / 1e9)
    expected = 2.5 * 4 / (3600 * est.output_tokens_per_second * 0.5) * 1e6
    assert_allclose(est.cost_usd_per_million_output_tokens, expected, rtol=1e-12)
    assert_allclose(est.output_tokens_per_second, 8 / est.time_per_output_token_s)
    assert_allclose(est.output_tokens_per_second_per_gpu, est.output_tokens_per_second / 4)
    assert est.bound == "memory"


def test_plan_that_does_not_fit_says_so_with_numbers() -> None:
    est = estimate_serving(
        plan(model=PRESETS["Llama 3.1 405B"], gpus_per_replica_count=8, batch_size_count=1)
    )
    assert not est.fits_in_memory
    assert "needs 811 GB, has 576 GB" in est.message
    with pytest.raises(PlanDoesNotFit) as info:
        est.raise_if_infeasible()
    assert info.value.needed_gb == pytest.approx(811, rel=0.01)
    assert info.value.available_gb == pytest.approx(576)


def test_concurrency_with_most_throughput_that_fits_and_meets_latency_targets() -> None:
    # Was: the largest batch of 1..1024 (any integer). The search now tries CONCURRENCY_CANDIDATES, the
    # grid every caller shares, and keeps the candidate with the highest end-to-end throughput.
    est = estimate_serving(
        plan(batch_size_count=None, time_per_output_token_target_s=0.03, time_to_first_token_target_s=2.0)
    )
    assert est.fits_in_memory and est.meets_latency_targets and est.mode == "latency_targets"
    assert est.time_per_output_token_s <= 0.03 and est.time_to_first_token_s <= 2.0
    assert est.batch_size in CONCURRENCY_CANDIDATES
    for c in CONCURRENCY_CANDIDATES:
        other = estimate_serving(plan(batch_size_count=c))
        if (
            other.fits_in_memory
            and other.time_per_output_token_s <= 0.03
            and other.time_to_first_token_s <= 2.0
        ):
            assert other.output_tokens_per_second <= est.output_tokens_per_second * (1 + 1e-12)


def test_h100_bf16_decode_turns_compute_bound_near_batch_300() -> None:
    assert_allclose(compute_bound_batch_size(H100_SXM, "bf16", "bf16"), 989.4 * 2 / (2 * 3.35), rtol=1e-12)
    # With ideal efficiencies and a negligible cache, the full model agrees (dense 7B on one GPU).
    ideal = dict(
        model=PRESETS["Llama 2 7B"],
        gpus_per_replica_count=1,
        prompt_token_count=1,
        output_token_count=1,
        memory_efficiency_fraction=1.0,
        compute_efficiency_fraction=1.0,
    )
    assert estimate_serving(plan(batch_size_count=280, **ideal)).bound == "memory"
    assert estimate_serving(plan(batch_size_count=310, **ideal)).bound == "compute"


def test_weight_only_quantization_speeds_memory_bound_decode_not_compute() -> None:
    bf16 = estimate_serving(plan())
    int8 = estimate_serving(plan(weight_precision="int8", quality_loss_points=0.3))
    assert int8.weights_gb_per_gpu == pytest.approx(bf16.weights_gb_per_gpu / 2)
    assert int8.time_per_output_token_s < bf16.time_per_output_token_s
    assert int8.decode_compute_s == pytest.approx(bf16.decode_compute_s)  # activations still bf16
    fp8 = estimate_serving(plan(weight_precision="fp8", activation_precision="fp8", quality_loss_points=0.3))
    assert fp8.decode_compute_s == pytest.approx(bf16.decode_compute_s / 2, rel=1e-3)  # 1978.9 vs 2 x 989.4


def test_quality_loss_is_never_silently_zero() -> None:
    est = estimate_serving(plan(weight_precision="int4"))
    assert est.quality_loss_points is None
    assert any("quality loss" in a and "not assumed zero" in a for a in est.assumptions)


def test_non_language_workload_reports_units() -> None:
    est = estimate_serving(
        ServingPlan(
            model=PRESETS["ResNet-50"],
            accelerator=A100_SXM4_80GB,
            batch_size_count=256,
            price_usd_per_gpu_hour=2.0,
            utilization_fraction=1.0,
        )
    )
    assert est.unit_name == "image" and est.kv_cache_bytes_per_token == 0
    assert_allclose(est.cost_usd_per_thousand_units, 2.0 / (3600 * est.output_tokens_per_second) * 1e3)
    assert est.bound == "compute"


def test_moe_reads_active_weights_at_batch_one_and_all_at_large_batch() -> None:
    mixtral = PRESETS["Mixtral 8x7B"]
    p = plan(
        model=mixtral,
        gpus_per_replica_count=2,
        memory_efficiency_fraction=1.0,
        prompt_token_count=1,
        output_token_count=1,
    )
    one = estimate_serving(replace(p, batch_size_count=1))
    assert_allclose(one.decode_memory_s, (12.9e9 * 2 / 2 + 1.5 * 32 * 2048 * 2 / 2) / 3.35e12, rtol=1e-9)
    many = estimate_serving(replace(p, batch_size_count=512))
    assert many.decode_memory_s > 46.7e9 * 2 / 2 / 3.35e12 * 0.99


@settings(max_examples=80, deadline=None)
@given(
    model=st.sampled_from(["Llama 2 7B", "Llama 2 70B", "Llama 3.1 8B", "GPT-3 175B"]),
    gpus=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(1, 512),
    weights=st.sampled_from(["bf16", "fp8", "int8", "int4"]),
    prompt=st.integers(1, 8192),
)
def test_decode_time_never_below_weight_bytes_over_bandwidth(
    model: str, gpus: int, batch: int, weights: str, prompt: int
) -> None:
    m = PRESETS[model]
    est = estimate_serving(
        plan(
            model=m,
            gpus_per_replica_count=gpus,
            batch_size_count=batch,
            weight_precision=weights,
            prompt_token_count=prompt,
            quality_loss_points=0.0,
        )
    )
    floor = m.parameter_count * bytes_per_value(weights) / gpus / (H100_SXM.memory_bandwidth_tb_s * 1e12)
    assert est.time_per_output_token_s >= floor


@settings(max_examples=40, deadline=None)
@given(a=st.sampled_from(PRECISIONS), b=st.sampled_from(PRECISIONS))
def test_lower_precision_never_raises_weight_bytes(a: str, b: str) -> None:
    hi, lo = sorted((a, b), key=bytes_per_value, reverse=True)
    if hi == "tf32" or lo == "tf32":  # a compute mode, not a storage format
        return
    w_hi = estimate_serving(plan(weight_precision=hi, batch_size_count=1)).weights_bytes
    w_lo = estimate_serving(plan(weight_precision=lo, batch_size_count=1)).weights_bytes
    assert w_lo <= w_hi


@settings(max_examples=40, deadline=None)
@given(price=st.floats(0.01, 100), k=st.floats(0.01, 100))
def test_serving_cost_scales_linearly_with_price(price: float, k: float) -> None:
    a = estimate_serving(plan(price_usd_per_gpu_hour=price))
    b = estimate_serving(plan(price_usd_per_gpu_hour=price * k))
    assert_allclose(b.cost_usd_per_million_output_tokens, a.cost_usd_per_million_output_tokens * k, rtol=1e-9)
    assert_allclose(b.cost_usd_per_million_tokens, a.cost_usd_per_million_tokens * k, rtol=1e-9)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        plan(weight_precision="int3")
    with pytest.raises(ValueError):
        ModelSpec(parameter_count=1e9, active_parameter_count=2e9)


@settings(max_examples=40, deadline=None)
@given(
    k=st.floats(0.2, 3.0),
    gpus=st.sampled_from([1, 2, 4, 8]),
    prompt=st.integers(1, 8192),
    output=st.integers(1, 2048),
)
def test_calibration_factor_scales_every_rate_by_exactly_k_at_the_same_concurrency(
    k: float, gpus: int, prompt: int, output: int
) -> None:
    """Calibration (issue 10): every part of an iteration (GEMMs, attention, tensor-parallel all-reduces)
    runs k times as fast, so at the same concurrency throughput is × k, $/1M ÷ k, TPOT ÷ k; in max-throughput
    mode the pick is the same concurrency or one tied with it (where the chunk budget fills every iteration,
    throughput is flat in the concurrency and rounding decides among equals): the best throughput is × k."""
    base = plan(gpus_per_replica_count=gpus, batch_size_count=None, prompt_token_count=prompt,
                output_token_count=output)  # fmt: skip
    plain = estimate_serving(base)
    calibrated = estimate_serving(replace(base, efficiency_factor=k))
    same = estimate_serving(replace(base, batch_size_count=calibrated.batch_size))  # uncalibrated, same pick
    assert same.output_tokens_per_second == pytest.approx(plain.output_tokens_per_second, rel=1e-9)
    assert calibrated.output_tokens_per_second == pytest.approx(k * plain.output_tokens_per_second, rel=1e-9)
    assert calibrated.decode_output_tokens_per_second == pytest.approx(
        k * same.decode_output_tokens_per_second, rel=1e-9
    )
    assert calibrated.time_per_output_token_s == pytest.approx(same.time_per_output_token_s / k, rel=1e-9)
    assert calibrated.cost_usd_per_million_output_tokens == pytest.approx(
        plain.cost_usd_per_million_output_tokens / k, rel=1e-9
    )


def test_calibration_factor_one_is_the_uncalibrated_model_bit_for_bit() -> None:
    base = plan(batch_size_count=None)
    assert estimate_serving(replace(base, efficiency_factor=1.0)) == estimate_serving(base)
    with pytest.raises(ValueError, match="efficiency_factor"):
        plan(efficiency_factor=0.0)


def test_weight_only_int8_raises_the_memory_bound_rate_not_the_throughput_ceiling() -> None:
    """W8A16 on Llama 2 7B, one H100, 1,024 in / 256 out (docs/methodology/serving.md, "Weight-only int8").
    While the GEMMs are memory-bound (bf16 below concurrency ~48) halving the weight bytes makes every
    iteration faster; once they are compute-bound (16-bit tensor cores either way) the iteration is GEMM FLOPs
    + KV-cache reads, both ∝ concurrency and both untouched by the weight precision: the same ceiling, which
    int8 reaches at half the concurrency (24 instead of 48) with half the time per output token."""
    seven = PRESETS["Llama 2 7B"]

    def at(weights: str, kv: str = "bf16", b: int | None = None):  # type: ignore[no-untyped-def]
        return estimate_serving(
            ServingPlan(model=seven, accelerator=H100_SXM, weight_precision=weights, kv_cache_precision=kv,
                        batch_size_count=b, prompt_token_count=1024, output_token_count=256,
                        price_usd_per_gpu_hour=2.5)
        )  # fmt: skip

    for b in CONCURRENCY_CANDIDATES[:12]:  # 1 … 64, all fit in bf16
        bf16, int8 = at("bf16", b=b), at("int8", b=b)
        assert int8.gemm_memory_s == pytest.approx(bf16.gemm_memory_s / 2)
        if bf16.gemm_memory_s > bf16.gemm_compute_s:  # memory-bound GEMMs: int8 is strictly faster
            assert int8.output_tokens_per_second > 1.05 * bf16.output_tokens_per_second
        if int8.gemm_compute_s >= int8.gemm_memory_s and bf16.gemm_compute_s >= bf16.gemm_memory_s:
            assert int8.output_tokens_per_second == pytest.approx(bf16.output_tokens_per_second, rel=1e-9)
    best_bf16, best_int8 = at("bf16"), at("int8")
    assert best_int8.output_tokens_per_second == pytest.approx(best_bf16.output_tokens_per_second, rel=1e-9)
    assert best_int8.cost_usd_per_million_output_tokens == pytest.approx(
        best_bf16.cost_usd_per_million_output_tokens, rel=1e-9
    )

    # The ceiling is first reached at concurrency 48 in bf16 and 24 in int8 (equal candidates beyond it).
    def knee(weights: str) -> int:
        ceiling = at(weights).output_tokens_per_second
        return next(
            b for b in CONCURRENCY_CANDIDATES
            if at(weights, b=b).output_tokens_per_second == pytest.approx(ceiling, rel=1e-9)
        )  # fmt: skip

    assert (knee("bf16"), knee("int8")) == (48, 24)
    assert at("int8", b=24).time_per_output_token_s < 0.6 * at("bf16", b=48).time_per_output_token_s
    # What moves the ceiling here is the KV cache: int8 KV halves the reads that are most of the iteration.
    assert at("int8", kv="int8").output_tokens_per_second > 1.4 * best_bf16.output_tokens_per_second
