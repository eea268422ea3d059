"""Published figures (docs/methodology/cost-model.md, 'Published figures the engine is tested against'),
with the stated tolerances."""

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


# --- the published-runs table (app/engine/published_runs.py), the source of the default MFU ---------------


import pytest  # noqa: E402

from app.engine.published_runs import PUBLISHED_RUNS, PublishedRun, accelerator_generation  # noqa: E402
from app.engine.training import published_compute_mfus, published_run_plan  # noqa: E402
from app.engine.training_validation import validation_row, validation_rows  # noqa: E402


def test_the_table_holds_at_least_ten_runs_with_sources() -> None:
    assert len(PUBLISHED_RUNS) >= 10
    for run in PUBLISHED_RUNS:
        assert run.url.startswith("https://") and run.source
        assert 0.1 < run.mfu < 0.7
    names = " ".join(r.name for r in PUBLISHED_RUNS)
    for expected in (
        "GPT-3",
        "MT-NLG",
        "BLOOM",
        "OPT",
        "Llama 2",
        "Llama 3.1 405B",
        "DeepSeek-V3",
        "MPT",
        "Falcon",
    ):
        assert expected in names
    assert {accelerator_generation(r.accelerator.name) for r in PUBLISHED_RUNS} >= {"ampere", "hopper", "tpu"}


@pytest.mark.parametrize("run", PUBLISHED_RUNS, ids=lambda r: r.name)
def test_each_run_reproduces_at_its_published_mfu(run: PublishedRun) -> None:
    """At its published (end-to-end) MFU, on its layout, the engine gives the published GPU-hours (±10 %) and
    the wall-clock they mean on the published GPU count; the compute MFU left once this engine's
    communication and bubble are taken out is physically plausible (0.3-0.65 of the 16-bit peak). The rows
    are the Methodology page's (app/engine/training_validation.py)."""
    row = validation_row(run)
    assert row.within_tolerance and abs(row.ratio - 1) <= 0.10
    est = estimate_training(published_run_plan(run))
    assert_allclose(est.wall_clock_days, run.reference_gpu_hours / run.gpu_count / 24, rtol=0.10)
    assert 0.70 <= row.scaling_efficiency < 0.96
    assert 0.30 <= row.compute_mfu <= 0.65


def test_most_runs_fall_inside_the_default_range() -> None:
    """At the default MFU (the calibrated median for the generation and size class), the published GPU-hours
    of most runs lie within the reported p10-p90 range."""
    inside = [row.inside_default_range for row in validation_rows()]
    assert sum(inside) >= 0.75 * len(PUBLISHED_RUNS), inside


def test_compute_mfus_are_below_one_and_above_the_end_to_end_ones() -> None:
    values = published_compute_mfus()
    for run in PUBLISHED_RUNS:
        assert run.mfu < values[run.name] < 1.0
