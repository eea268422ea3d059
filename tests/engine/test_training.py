"""Training estimate: formulas, memory, defaults recorded, properties (hypothesis)."""

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import (
    A100_SXM4_80GB,
    H100_SXM,
    UnsupportedPrecision,
    accelerator_from_row,
    bytes_per_value,
)
from app.engine.parallelism import ParallelismPlan
from app.engine.training import TrainingPlan, estimate_training, minimum_gpu_count

CSV = Path(__file__).parents[2] / "app" / "data" / "reference" / "accelerators.csv"
LLAMA7 = PRESETS["Llama 2 7B"]


def base(**kw: object) -> TrainingPlan:
    values: dict[str, object] = dict(
        model=LLAMA7,
        training_tokens=2e12,
        accelerator=A100_SXM4_80GB,
        gpu_count=64,
        price_usd_per_gpu_hour=2.0,
    )
    values.update(kw)
    return TrainingPlan(**values)  # type: ignore[arg-type]


def test_csv_rows_become_specs_and_match_the_shipped_constants() -> None:
    rows = {r["name"]: accelerator_from_row(r) for r in csv.DictReader(CSV.open(encoding="utf-8"))}
    assert rows["A100-SXM4-80GB"] == A100_SXM4_80GB
    assert rows["H100-SXM"] == H100_SXM
    # V100 and T4: the bf16 column holds fp16; they have no bf16.
    assert not rows["V100-SXM2"].supports("bf16") and rows["V100-SXM2"].peak_tflops_for("fp16") == 125
    assert rows["GH200 (96GB)"].board_power_w == 1000


def test_unsupported_precisions_raise_clearly() -> None:
    with pytest.raises(UnsupportedPrecision, match="H100-SXM has no int4"):
        H100_SXM.peak_tflops_for("int4")
    with pytest.raises(UnsupportedPrecision):
        estimate_training(base(precision="fp8"))  # A100 has no FP8
    with pytest.raises(ValueError):
        bytes_per_value("int3")


def test_model_and_hardware_flops_by_recomputation_mode() -> None:
    none = estimate_training(base(activation_recomputation="none"))
    full = estimate_training(base(activation_recomputation="full"))
    selective = estimate_training(base(activation_recomputation="selective"))
    assert_allclose(none.model_flops, 6 * 6.74e9 * 2e12)
    assert_allclose(none.hardware_flops, none.model_flops)
    assert_allclose(full.hardware_flops, 8 * 6.74e9 * 2e12)
    assert none.hardware_flops < selective.hardware_flops < full.hardware_flops
    # MFU counts model FLOPs: with a given MFU the compute time does not depend on the recomputation mode
    # (only full recomputation's extra tensor-parallel collectives add communication).
    assert_allclose(none.ideal_gpu_hours, selective.ideal_gpu_hours)
    assert_allclose(none.ideal_gpu_hours, full.ideal_gpu_hours)


def test_gpu_hours_cost_and_wall_clock() -> None:
    # A given MFU is end to end (as published): it fixes the GPU-hours whatever the layout.
    est = estimate_training(base(mfu_fraction=0.4))
    hours = 6 * 6.74e9 * 2e12 / (312e12 * 0.4 * 3600)
    assert_allclose(est.gpu_hours, hours, rtol=1e-9)
    assert_allclose(est.cost_usd, 2.0 * hours, rtol=1e-9)
    assert_allclose(est.wall_clock_days, hours / 64 / 24, rtol=1e-9)
    # A compute MFU pays for the modelled communication on top.
    compute = estimate_training(base(mfu_fraction=0.4, mfu_basis="compute"))
    assert_allclose(compute.gpu_hours, hours / compute.scaling_efficiency, rtol=1e-12)
    assert compute.scaling_efficiency < 1


def test_defaults_are_recorded_as_assumptions() -> None:
    # Was: "MFU 0.30 (Epoch AI default for language models)" for every run (issue 10).
    est = estimate_training(base())
    text = " | ".join(est.assumptions)
    assert "median compute MFU" in text and "published runs (ampere GPUs, under 20B parameters" in text
    assert "PUE 1.1" in text and "kg CO2/kWh" in text
    assert "layout chosen: TP 1 × PP 1 × DP 64" in text
    assert 0.35 < est.mfu_fraction < 0.5


def test_memory_parts_mixed_precision_adam() -> None:
    # 16 bytes per parameter before activations; ZeRO-3 over 64 GPUs divides all of them.
    layout = ParallelismPlan(data_parallel_count=64, zero_stage=3)
    est = estimate_training(base(activation_recomputation="full", parallelism=layout))
    m = est.memory
    assert_allclose(m.weights_gb, 6.74e9 * 2 / 64 / 1e9)
    assert_allclose(m.gradients_gb, 6.74e9 * 2 / 64 / 1e9)
    assert_allclose(m.optimizer_gb, 6.74e9 * 12 / 64 / 1e9)
    # Full recomputation keeps 2·s·b·h bytes per layer (Korthikanti et al. 2022).
    assert_allclose(m.activations_gb, 2 * 4096 * 4096 * 32 / 1e9)
    assert est.fits_in_memory


def test_does_not_fit_message_and_minimum_gpu_count() -> None:
    plan = base(model=PRESETS["Llama 2 70B"], gpu_count=8, activation_recomputation="full")
    est = estimate_training(plan)
    assert not est.fits_in_memory
    assert "does not fit: needs" in est.memory_message and "has 72.0 GB" in est.memory_message
    # A lower bound (states fully sharded, activations split 8 ways), in whole nodes beyond one.
    n = minimum_gpu_count(plan)
    assert n is not None and n > 8 and n % 8 == 0
    assert f"at least {n:,} GPUs" in est.memory_message
    assert estimate_training(replace(plan, gpu_count=n)).fits_in_memory


def test_fp8_fraction_mixes_with_bf16_not_fp32() -> None:
    fp8 = estimate_training(base(accelerator=H100_SXM, precision="fp8", half_precision_fraction=0.7))
    assert_allclose(fp8.effective_peak_tflops, 1 / (0.7 / 1978.9 + 0.3 / 989.4))


def test_mixed_precision_fraction_slows_down_towards_fp32() -> None:
    all_half = estimate_training(base(mfu_fraction=0.4))
    mostly = estimate_training(base(mfu_fraction=0.4, half_precision_fraction=0.7))
    peak = 1 / (0.7 / 312 + 0.3 / 19.5)
    assert_allclose(mostly.effective_peak_tflops, peak)
    assert mostly.gpu_hours > all_half.gpu_hours


def test_vision_training_uses_flops_per_unit() -> None:
    resnet = PRESETS["ResNet-50"]
    est = estimate_training(
        TrainingPlan(
            model=resnet, training_tokens=1e6, accelerator=A100_SXM4_80GB, gpu_count=1, precision="bf16"
        )
    )
    assert_allclose(est.model_flops, 3 * 4.1e9 * 1e6)
    assert est.mfu_fraction == pytest.approx(0.40)  # a compute MFU for non-language models (Epoch AI)


@settings(max_examples=60, deadline=None)
@given(n=st.floats(1e8, 1e11), d=st.floats(1e9, 1e13), g1=st.integers(1, 1024), g2=st.integers(1, 1024))
def test_more_gpus_never_lowers_gpu_hours_data_parallel(n: float, d: float, g1: int, g2: int) -> None:
    # A model with no transformer shape trains data-parallel only: more replicas, more exposed all-reduce.
    small, large = sorted((g1, g2))
    model = ModelSpec(parameter_count=n)
    a = estimate_training(TrainingPlan(model=model, training_tokens=d, accelerator=H100_SXM, gpu_count=small))
    b = estimate_training(TrainingPlan(model=model, training_tokens=d, accelerator=H100_SXM, gpu_count=large))
    # (Wall-clock need not fall: a tiny, latency-bound step can get slower with more replicas.)
    assert b.gpu_hours >= a.gpu_hours * (1 - 1e-12)
    assert b.scaling_efficiency <= a.scaling_efficiency + 1e-12


@settings(max_examples=60, deadline=None)
@given(price=st.floats(0.01, 100), k=st.floats(0.01, 100))
def test_cost_scales_linearly_with_price(price: float, k: float) -> None:
    a = estimate_training(base(price_usd_per_gpu_hour=price))
    b = estimate_training(base(price_usd_per_gpu_hour=price * k))
    assert a.cost_usd is not None and b.cost_usd is not None
    assert_allclose(b.cost_usd, a.cost_usd * k, rtol=1e-9)
