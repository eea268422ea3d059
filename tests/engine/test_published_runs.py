"""Published figures (COST-MODEL.md, 'Published figures to test against'), with the stated tolerances."""

from numpy.testing import assert_allclose

from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import A100_SXM4_80GB
from app.engine.training import TrainingPlan, estimate_training


def plan(model: ModelSpec, tokens: float, gpus: int, **kw: object) -> TrainingPlan:
    return TrainingPlan(model=model, training_tokens=tokens, accelerator=A100_SXM4_80GB, gpu_count=gpus, **kw)


def test_gpt3_training_flops_within_2_percent() -> None:
    # Brown et al. 2020, Table D.1: 3.14e23 FLOPs.
    est = estimate_training(plan(PRESETS["GPT-3 175B"], 300e9, 1024))
    assert_allclose(est.model_flops, 3.14e23, rtol=0.02)


def test_gpt3_on_1536_a100_at_141_tflops_takes_about_23_days() -> None:
    # Narayanan et al. 2021: 141 TFLOP/s per GPU counts recomputation (8ND) → ≈23 days (±5 %).
    est = estimate_training(
        plan(
            PRESETS["GPT-3 175B"], 300e9, 1536, achieved_tflops_per_gpu=141.0, activation_recomputation="full"
        )
    )
    assert_allclose(est.hardware_flops, 8 * 174.6e9 * 300e9, rtol=1e-12)
    assert_allclose(est.wall_clock_days, 23.0, rtol=0.05)


def test_llama2_7b_gpu_hours_at_implied_mfu() -> None:
    # Llama 2 paper Table 2: 184,320 A100-80GB GPU-hours; implied MFU ≈ 0.39 at 312 TFLOP/s bf16.
    est = estimate_training(plan(PRESETS["Llama 2 7B"], 2e12, 2048, mfu_fraction=0.39))
    assert_allclose(est.gpu_hours, 184_320, rtol=0.05)


def test_llama2_70b_gpu_hours_and_implied_mfu() -> None:
    est = estimate_training(plan(PRESETS["Llama 2 70B"], 2e12, 2048, mfu_fraction=0.43))
    assert_allclose(est.gpu_hours, 1_720_320, rtol=0.05)
    implied = est.model_flops / (1_720_320 * 3600 * 312e12)
    assert_allclose(implied, 0.43, rtol=0.02)


def test_chinchilla_flops() -> None:
    # Hoffmann et al. 2022: N = 70e9, D = 1.4e12 → ≈5.8e23 FLOPs (±2 %).
    est = estimate_training(plan(ModelSpec(parameter_count=70e9), 1.4e12, 1))
    assert_allclose(est.model_flops, 5.8e23, rtol=0.02)


def test_llama2_energy_uses_board_power() -> None:
    # Model card: GPU-hours × 400 W. With PUE 1 and full power: 184,320 h × 0.4 kW = 73,728 kWh.
    est = estimate_training(
        plan(
            PRESETS["Llama 2 7B"],
            2e12,
            2048,
            mfu_fraction=0.3907,
            pue=1.0,
            power_utilization_fraction=1.0,
            grid_kg_co2_per_kwh=0.5,
        )
    )
    assert est.energy_kwh is not None and est.co2_kg is not None
    assert_allclose(est.energy_kwh, est.gpu_hours * 0.4, rtol=1e-12)
    assert_allclose(est.co2_kg, est.energy_kwh * 0.5, rtol=1e-12)
