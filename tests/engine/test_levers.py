"""Distributed training, mixed precision and transfer learning levers."""

import pytest
from numpy.testing import assert_allclose

from app.engine import formulas as fx
from app.engine.architecture import PRESETS
from app.engine.finetune import FineTunePlan, estimate_fine_tune, lora_parameter_count
from app.engine.hardware import A100_SXM4_80GB, H100_SXM
from app.engine.parallelism import ParallelismPlan, scaling_estimate
from app.engine.precision import mixed_precision_time_s, precision_comparison
from app.engine.training import TrainingPlan, distributed_tradeoff, estimate_training

LLAMA7 = PRESETS["Llama 2 7B"]
LLAMA70 = PRESETS["Llama 2 70B"]


def test_ring_allreduce_formula() -> None:
    # 2(n−1)/n · S/B + 2(n−1)α: 10 GPUs, 1 GB, 25 GB/s, 5 µs.
    assert_allclose(fx.ring_allreduce_s(1e9, 10, 25.0, 5e-6), 2 * 9 / 10 * 1e9 / 25e9 + 18 * 5e-6)
    assert fx.ring_allreduce_s(1e9, 1, 25.0, 5e-6) == 0.0


def test_pipeline_bubble() -> None:
    assert fx.pipeline_bubble_fraction(8, 32) == pytest.approx(7 / 32)


def _scaling(plan: ParallelismPlan) -> float:
    return scaling_estimate(
        plan,
        parameter_count=LLAMA70.parameter_count,
        active_parameter_count=LLAMA70.parameter_count,
        sequence_length=4096,
        hidden_size=8192,
        layer_count=80,
        per_gpu_flops_per_s=312e12 * 0.45,
    ).scaling_efficiency


def test_scaling_efficiency_falls_with_bubble_and_comm_and_compression_helps() -> None:
    layout = dict(
        data_parallel_count=64, tensor_parallel_count=8, pipeline_parallel_count=4, micro_batch_count=8
    )
    base = _scaling(ParallelismPlan(**layout))  # type: ignore[arg-type]
    assert 0 < base < 1
    more_micro = _scaling(ParallelismPlan(**{**layout, "micro_batch_count": 64}))  # type: ignore[arg-type]
    assert more_micro > base
    # Slow links and no overlap expose the gradient all-reduce; compression claws some back.
    slow = dict(layout, inter_node_bandwidth_gb_s=1.25, backward_overlap_fraction=0.0)
    exposed = _scaling(ParallelismPlan(**slow))  # type: ignore[arg-type]
    compressed = _scaling(ParallelismPlan(**slow, gradient_compression_ratio=10.0))  # type: ignore[arg-type]
    assert exposed < base and compressed > exposed


def test_distributed_trades_gpu_hours_for_wall_clock() -> None:
    common = dict(
        model=LLAMA70,
        training_tokens=2e12,
        accelerator=A100_SXM4_80GB,
        mfu_fraction=0.45,
        mfu_basis="compute",
        price_usd_per_gpu_hour=2.0,
    )
    small = estimate_training(
        TrainingPlan(
            gpu_count=64,
            parallelism=ParallelismPlan(data_parallel_count=8, tensor_parallel_count=8, micro_batch_count=8),
            **common,
        )
    )  # type: ignore[arg-type]
    big = estimate_training(
        TrainingPlan(
            gpu_count=2048,
            parallelism=ParallelismPlan(
                data_parallel_count=64,
                tensor_parallel_count=8,
                pipeline_parallel_count=4,
                micro_batch_count=16,
            ),
            **common,
        )
    )  # type: ignore[arg-type]
    assert big.wall_clock_days < small.wall_clock_days / 10
    assert big.gpu_hours > small.gpu_hours
    assert big.scaling is not None and big.scaling.bubble_s > 0
    assert_allclose(big.gpu_hours, big.ideal_gpu_hours / big.scaling_efficiency)


def test_zero_stages_shard_states() -> None:
    def mem(stage: int) -> tuple[float, float, float]:
        p = TrainingPlan(
            model=LLAMA7,
            training_tokens=1e9,
            accelerator=H100_SXM,
            gpu_count=8,
            parallelism=ParallelismPlan(data_parallel_count=8, zero_stage=stage),
        )
        m = estimate_training(p).memory
        return m.weights_gb, m.gradients_gb, m.optimizer_gb

    w0, g0, o0 = mem(0)
    assert mem(1) == pytest.approx((w0, g0, o0 / 8))
    assert mem(2) == pytest.approx((w0, g0 / 8, o0 / 8))
    assert mem(3) == pytest.approx((w0 / 8, g0 / 8, o0 / 8))


def test_mixed_precision_time_formula_with_real_a100_peaks() -> None:
    t = mixed_precision_time_s(1e11, A100_SXM4_80GB, 0.7)
    assert_allclose(t, 1e11 * (0.7 / 312e12 + 0.3 / 19.5e12))


def test_precision_comparison_side_by_side() -> None:
    plan = TrainingPlan(
        model=LLAMA7,
        training_tokens=2e12,
        accelerator=H100_SXM,
        gpu_count=512,
        mfu_fraction=0.4,
        price_usd_per_gpu_hour=3.0,
    )
    rows = {r.precision: r for r in precision_comparison(plan)}
    assert all(r.supported for r in rows.values())
    assert rows["bf16"].speedup_vs_fp32 == pytest.approx(989.4 / 66.9)
    assert rows["fp8"].gpu_hours < rows["bf16"].gpu_hours < rows["tf32"].gpu_hours < rows["fp32"].gpu_hours
    on_a100 = {
        r.precision: r
        for r in precision_comparison(
            TrainingPlan(model=LLAMA7, training_tokens=2e12, accelerator=A100_SXM4_80GB, gpu_count=512)
        )
    }
    assert not on_a100["fp8"].supported and "no fp8" in on_a100["fp8"].note


def test_lora_vs_full_fine_tune_vs_from_scratch() -> None:
    base = TrainingPlan(
        model=LLAMA7,
        training_tokens=2e12,
        accelerator=A100_SXM4_80GB,
        gpu_count=8,
        mfu_fraction=0.4,
        price_usd_per_gpu_hour=2.0,
    )
    full = estimate_fine_tune(FineTunePlan(base_plan=base, fine_tune_tokens=1e9, method="full"))
    lora = estimate_fine_tune(
        FineTunePlan(
            base_plan=base,
            fine_tune_tokens=1e9,
            method="lora",
            lora_rank=16,
            expected_quality_delta_points=3.0,
        )
    )
    assert_allclose(full.fine_tune.model_flops, 6 * 6.74e9 * 1e9)
    assert_allclose(lora.fine_tune.model_flops, 4 * 6.74e9 * 1e9)
    assert lora.adapter_parameter_count == lora_parameter_count(32, 4096, 16) == 32 * 4 * 16 * 2 * 4096
    assert lora.fine_tune.memory.optimizer_gb < full.fine_tune.memory.optimizer_gb / 100
    # At equal N the saving against pre-training is ≈ D / D_ft (open weights cost nothing).
    assert full.saving_ratio == pytest.approx(2e12 / 1e9, rel=1e-9)
    assert lora.expected_quality_delta_points == 3.0
    licensed = estimate_fine_tune(
        FineTunePlan(
            base_plan=base,
            fine_tune_tokens=1e9,
            method="full",
            base_cost_kind="licence",
            base_licence_usd=50_000,
        )
    )
    assert licensed.total_cost_usd == pytest.approx((full.total_cost_usd or 0) + 50_000)


def test_distributed_tradeoff_curve() -> None:
    plan = TrainingPlan(
        model=LLAMA7,
        training_tokens=2e12,
        accelerator=H100_SXM,
        gpu_count=8,
        mfu_fraction=0.45,
        mfu_basis="compute",
    )
    # Strong scaling at a fixed 4M-token global batch: more GPUs leave less backward pass to hide behind.
    # (4,096 replicas of 4,096-token sequences would need a 16.7M-token step: that layout is infeasible now,
    # tests/engine/test_training_fidelity.py; it used to grow the global batch silently.)
    layouts = [
        ParallelismPlan(data_parallel_count=n, global_batch_token_count=4 * 2**20) for n in (8, 64, 512, 1024)
    ]
    curve = distributed_tradeoff(plan, layouts)
    days = [e.wall_clock_days for e in curve]
    hours = [e.gpu_hours for e in curve]
    assert days == sorted(days, reverse=True)
    assert hours == sorted(hours)
    assert curve[-1].scaling_efficiency < curve[0].scaling_efficiency <= 1
