"""The published training runs beside the engine: one row per run of published_runs.PUBLISHED_RUNS.

The tests (tests/engine/test_published_runs.py) and the Methodology page read these same rows, so the page
shows exactly what is tested."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.engine.parallelism import ParallelismPlan
from app.engine.published_runs import PUBLISHED_RUNS, PublishedRun
from app.engine.training import estimate_training, published_run_plan

TOLERANCE_FRACTION = 0.10


@dataclass(frozen=True)
class TrainingValidationRow:
    name: str
    accelerator: str
    gpu_count: int
    layout: str  # tensor·pipeline·data parallel degrees and ZeRO stage
    published_mfu: float
    mfu_basis: str
    reference_gpu_hours: float
    engine_gpu_hours: float
    ratio: float
    scaling_efficiency: float
    compute_mfu: float
    default_gpu_hours: float
    default_low_gpu_hours: float
    default_high_gpu_hours: float
    inside_default_range: bool
    source: str
    url: str

    @property
    def within_tolerance(self) -> bool:
        return abs(self.ratio - 1.0) <= TOLERANCE_FRACTION


def _short(layout: ParallelismPlan | None) -> str:
    if layout is None:
        return ""
    t, p, d = layout.tensor_parallel_count, layout.pipeline_parallel_count, layout.data_parallel_count
    return f"{t}·{p}·{d}, {layout.zero_stage}"


def validation_row(run: PublishedRun) -> TrainingValidationRow:
    plan = published_run_plan(run)
    at_published = estimate_training(plan)
    at_default = estimate_training(replace(plan, mfu_fraction=None))
    low, high = at_default.gpu_hours_range or (at_default.gpu_hours, at_default.gpu_hours)
    reference = run.reference_gpu_hours
    return TrainingValidationRow(
        name=run.name,
        accelerator=run.accelerator.name,
        gpu_count=run.gpu_count,
        layout=_short(at_published.layout),
        published_mfu=run.mfu,
        mfu_basis=run.mfu_basis,
        reference_gpu_hours=reference,
        engine_gpu_hours=at_published.gpu_hours,
        ratio=at_published.gpu_hours / reference,
        scaling_efficiency=at_published.scaling_efficiency,
        compute_mfu=at_published.mfu_fraction,
        default_gpu_hours=at_default.gpu_hours,
        default_low_gpu_hours=low,
        default_high_gpu_hours=high,
        inside_default_range=low <= reference <= high,
        source=run.source,
        url=run.url,
    )


def validation_rows() -> list[TrainingValidationRow]:
    return [validation_row(run) for run in PUBLISHED_RUNS]
