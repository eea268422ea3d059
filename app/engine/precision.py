"""Mixed-precision lever: the time of a fraction f of operations in half precision, and fp32/tf32/bf16/fp8
side by side (docs/methodology/cost-model.md §5:
time = ops · (f/peak_half + (1−f)/peak_fp32) / efficiency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.engine import formulas as fx
from app.engine.hardware import AcceleratorSpec, UnsupportedPrecision
from app.engine.training import TrainingPlan, estimate_training


def mixed_precision_time_s(
    operation_count: float,
    accelerator: AcceleratorSpec,
    half_precision_fraction: float,
    *,
    half_precision: str = "bf16",
    full_precision: str = "fp32",
    efficiency_fraction: float = 1.0,
) -> float:
    """Seconds for operation_count FLOPs with a fraction f at the half-precision peak, the rest at full."""
    peak = fx.mixed_precision_peak_tflops(
        accelerator.peak_tflops_for(half_precision),
        accelerator.peak_tflops_for(full_precision),
        half_precision_fraction,
    )
    return float(operation_count / (peak * fx.TERA * efficiency_fraction))


@dataclass(frozen=True)
class PrecisionRow:
    """One precision of a side-by-side comparison; supported False (and no numbers) when the accelerator has
    no such tensor throughput."""

    precision: str
    supported: bool
    peak_tflops: float | None = None
    gpu_hours: float | None = None
    wall_clock_days: float | None = None
    cost_usd: float | None = None
    memory_gb_per_gpu: float | None = None
    speedup_vs_fp32: float | None = None
    note: str = ""


def precision_comparison(
    plan: TrainingPlan, precisions: Sequence[str] = ("fp32", "tf32", "bf16", "fp8")
) -> list[PrecisionRow]:
    """The same training run at each precision, everything else equal (same MFU: an optimistic simplification
    for fp8, whose realised MFU is usually lower)."""
    rows: list[PrecisionRow] = []
    fp32_hours: float | None = None
    for precision in precisions:
        try:
            estimate = estimate_training(replace(plan, precision=precision))
        except UnsupportedPrecision as error:
            rows.append(PrecisionRow(precision=precision, supported=False, note=str(error)))
            continue
        if precision == "fp32":
            fp32_hours = estimate.gpu_hours
        rows.append(
            PrecisionRow(
                precision=precision,
                supported=True,
                peak_tflops=estimate.effective_peak_tflops,
                gpu_hours=estimate.gpu_hours,
                wall_clock_days=estimate.wall_clock_days,
                cost_usd=estimate.cost_usd,
                memory_gb_per_gpu=estimate.memory_gb_per_gpu,
                speedup_vs_fp32=(fp32_hours / estimate.gpu_hours) if fp32_hours else None,
            )
        )
    return rows
