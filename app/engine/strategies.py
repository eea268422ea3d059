"""The 16 combinations of the article's four levers, each computed by the real estimate functions.

Baseline (documented choice): pre-train from scratch as LLMs are trained — bf16 mixed precision (fp16 on parts
without bf16; fp32/tf32 only when asked) on a sensible cluster: the fewest GPUs among 8, 16, 32, … 16,384
that fit and finish within `target_training_days` (90), on the layout the engine chooses, with the default
(published-runs) MFU and communication modelled; serve in bf16 weights/activations/KV with the cheapest
GPUs-per-replica count in {1, 2, 4, 8} and the largest batch that fits and meets the latency targets.
Levers:
- distributed: train on `distributed_gpu_count` GPUs (default 4× the baseline cluster) on the engine's
  layout: wall-clock falls, GPU-hours and cost rise (scaling efficiency falls with scale);
- transfer: fine-tune an open base on a fraction of the tokens instead of pre-training; its quality change
  is unknown unless given (never assumed positive);
- quantization: serve with int8 weights and KV cache (weight-only: activations stay 16-bit);
- mixed_precision: one precision step down for a fraction f (`half_precision_fraction`) of the training
  operations — fp8 with the rest in bf16 (Transformer Engine style) on parts with FP8, bf16 with the rest in
  fp32 when the baseline was asked in fp32/tf32; serve with fp8 weights and activations where the part has
  FP8 (W8A8-FP8, as serving stacks run it; never bf16 weights with fp8 compute).
Serving cost of every strategy comes from the one plan search every caller shares
(sweep.cheapest_serving_plan over GPUs per replica and CONCURRENCY_CANDIDATES).
Quality changes are inputs (LeverParameters), recorded in each strategy's assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

from app.engine.architecture import ModelSpec
from app.engine.finetune import FineTunePlan, estimate_fine_tune
from app.engine.hardware import AcceleratorSpec, bytes_per_value
from app.engine.parallelism import LayoutInfeasible
from app.engine.sweep import cheapest_serving_plan
from app.engine.training import TrainingPlan, estimate_training

LEVERS: tuple[str, ...] = ("distributed", "transfer", "quantization", "mixed_precision")


@dataclass(frozen=True)
class LeverParameters:
    """Lever settings; every default is an assumption recorded in the strategies."""

    baseline_gpu_count: int | None = None
    distributed_gpu_count: int | None = None
    gpus_per_node_count: int = 8
    inter_node_bandwidth_gb_s: float | None = None
    global_batch_token_count: float = 4 * 2**20
    mfu_fraction: float | None = None
    baseline_training_precision: str | None = None
    half_precision_fraction: float = 0.7
    target_training_days: float = 90.0
    fine_tune_fraction_of_tokens: float = 0.01
    fine_tune_method: str = "full"
    transfer_quality_delta_points: float | None = None
    base_licence_usd: float = 0.0
    quantized_weight_precision: str = "int8"
    quantized_kv_precision: str = "int8"
    quantization_quality_loss_points: float = 0.5
    mixed_precision_serving_quality_loss_points: float = 0.2
    prompt_token_count: int = 1024
    output_token_count: int = 256
    time_to_first_token_target_s: float = 2.0
    time_per_output_token_target_s: float = 0.05
    utilization_fraction: float = 0.5
    max_gpus_per_replica_count: int = 8


@dataclass(frozen=True)
class LeverStrategy:
    """One lever combination. unit_cost_usd_per_million_tokens: serving cost per 1M output tokens (units for
    non-language models; inf when no replica of ≤ max GPUs fits). quality_delta_points: against baseline."""

    name: str
    levers: frozenset[str]
    unit_cost_usd_per_million_tokens: float
    one_off_training_usd: float
    training_days: float
    quality_delta_points: float
    serving_tokens_per_s_per_gpu: float
    assumptions: tuple[str, ...] = ()
    training_gpu_count: int = 0
    training_layout: str = ""


def _training_precisions(accelerator: AcceleratorSpec) -> tuple[str, str]:
    """(16-bit precision of the part, the mixed-precision lever's lower precision): bf16 (fp16 without
    bf16) and fp8 where the part has FP8, else the 16-bit one (the lever then cannot lower training)."""
    half = "bf16" if accelerator.supports("bf16") else "fp16"
    lower = "fp8" if accelerator.supports("fp8") else half
    return half, lower


def _lever_precision(baseline: str, accelerator: AcceleratorSpec) -> str:
    """One step down from the baseline: fp32/tf32 → bf16 (fp16), bf16/fp16 → fp8 where supported."""
    half, lower = _training_precisions(accelerator)
    return half if baseline in ("fp32", "tf32") else lower


CLUSTER_SIZES: tuple[int, ...] = tuple(8 * 2**k for k in range(12))  # 8 … 16,384 GPUs


def sensible_cluster(plan: TrainingPlan, target_days: float) -> tuple[int, str]:
    """The fewest GPUs among 8, 16, … 16,384 (whole nodes) that fit the run and finish it within target_days
    on the engine's layout; when none finishes in time, the fastest that fits. Returns (GPUs, why)."""
    best: tuple[float, int] | None = None
    for gpus in CLUSTER_SIZES:
        try:
            estimate = estimate_training(replace(plan, gpu_count=gpus, parallelism=None))
        except LayoutInfeasible:
            continue
        if not estimate.fits_in_memory:
            continue
        if estimate.wall_clock_days <= target_days:
            return gpus, f"the fewest of 8, 16, … 16,384 GPUs that fit and train within {target_days:g} days"
        if best is None or estimate.wall_clock_days < best[0]:
            best = (estimate.wall_clock_days, gpus)
    if best is None:
        return CLUSTER_SIZES[-1], "no cluster of up to 16,384 GPUs fits: 16,384"
    return best[1], f"no cluster of up to 16,384 GPUs trains within {target_days:g} days: the fastest"


def lever_strategies(
    model: ModelSpec,
    accelerator: AcceleratorSpec,
    price_usd_per_gpu_hour: float,
    *,
    training_tokens: float | None = None,
    parameters: LeverParameters = LeverParameters(),
) -> list[LeverStrategy]:
    """Baseline, then the four single levers, the six pairs, the four triples and all four (16 strategies).

    training_tokens defaults to the model's own (a ModelPreset's training_tokens), else 20 per parameter
    (Chinchilla-optimal)."""
    p = parameters
    assumptions: list[str] = []
    tokens = training_tokens or getattr(model, "training_tokens", None)
    if not tokens:
        tokens = 20.0 * model.active_parameters
        assumptions.append("training tokens: 20 per parameter (Chinchilla-optimal)")
    base_precision = p.baseline_training_precision or _training_precisions(accelerator)[0]
    lever_precision = _lever_precision(base_precision, accelerator)
    base_plan = TrainingPlan(
        model=model,
        training_tokens=tokens,
        accelerator=accelerator,
        gpu_count=p.baseline_gpu_count or 8,
        precision=base_precision,
        mfu_fraction=p.mfu_fraction,
        mfu_basis="compute",
        price_usd_per_gpu_hour=price_usd_per_gpu_hour,
        global_batch_token_count=p.global_batch_token_count,
        gpus_per_node_count=p.gpus_per_node_count,
        inter_node_bandwidth_gb_s=p.inter_node_bandwidth_gb_s,
    )
    if p.baseline_gpu_count is None:
        baseline_gpus, why = sensible_cluster(base_plan, p.target_training_days)
    else:
        baseline_gpus, why = p.baseline_gpu_count, "given"
    base_plan = replace(base_plan, gpu_count=baseline_gpus)
    distributed_gpus = p.distributed_gpu_count or min(4 * baseline_gpus, 65_536)
    assumptions.append(
        f"baseline: pre-training from scratch in {base_precision} on {baseline_gpus:,} GPUs ({why}), "
        "the engine's parallel layout and default MFU; 16-bit serving without quantization"
    )
    if lever_precision == base_precision:
        assumptions.append(
            f"{accelerator.name} has no precision below {base_precision} for training: the mixed-precision "
            "lever does not change training"
        )
    else:
        rest = "fp32" if lever_precision in ("bf16", "fp16") else base_precision
        assumptions.append(
            f"mixed precision: {p.half_precision_fraction:.0%} of training operations in {lever_precision}, "
            f"the rest in {rest}, at the same MFU (optimistic for fp8: DeepSeek-V3 reached 0.17 of the fp8 "
            "peak)"
        )

    def training(levers: frozenset[str]) -> tuple[float, float, int, str]:
        plan = base_plan
        if "mixed_precision" in levers and lever_precision != base_precision:
            plan = replace(plan, precision=lever_precision, half_precision_fraction=p.half_precision_fraction)
        if "distributed" in levers:
            # The requested count, halved while no layout of it can keep the global batch.
            gpus = distributed_gpus
            while gpus > 1:
                try:
                    estimate_training(replace(plan, gpu_count=gpus))
                    break
                except LayoutInfeasible:
                    gpus //= 2
            plan = replace(plan, gpu_count=gpus)
        if "transfer" in levers:
            ft = estimate_fine_tune(
                FineTunePlan(
                    base_plan=plan,
                    fine_tune_tokens=tokens * p.fine_tune_fraction_of_tokens,
                    method=p.fine_tune_method,
                    base_cost_kind="licence" if p.base_licence_usd else "open_weights",
                    base_licence_usd=p.base_licence_usd,
                    expected_quality_delta_points=p.transfer_quality_delta_points,
                )
            )
            layout = ft.fine_tune.layout.describe() if ft.fine_tune.layout else ""
            return float(ft.total_cost_usd or 0.0), ft.fine_tune.wall_clock_days, plan.gpu_count, layout
        estimate = estimate_training(plan)
        layout = estimate.layout.describe() if estimate.layout else ""
        return float(estimate.cost_usd or 0.0), estimate.wall_clock_days, plan.gpu_count, layout

    def serving(levers: frozenset[str]) -> dict[str, Any] | None:
        """The cheapest replica (GPUs per replica 1, 2, 4, … and every shared concurrency) meeting the
        latency targets: the plan search every caller shares."""
        # 16-bit serving is bf16 where the part has it, else fp16 (V100, T4 have no bf16 tensor cores).
        half = _training_precisions(accelerator)[0]  # [1] is the training lever's lower precision (fp8)
        weights = p.quantized_weight_precision if "quantization" in levers else half
        kv = p.quantized_kv_precision if "quantization" in levers else half
        activations = half
        if "mixed_precision" in levers and accelerator.supports("fp8"):
            activations = "fp8"
            weights = min((weights, "fp8"), key=bytes_per_value)  # int4 weights stay int4
        gpus = []
        t = 1
        while t <= p.max_gpus_per_replica_count:
            gpus.append(t)
            t *= 2
        return cheapest_serving_plan(
            model,
            [accelerator],
            [(weights, activations, kv)],
            gpus,
            None,
            [[price_usd_per_gpu_hour]],
            time_to_first_token_target_s=p.time_to_first_token_target_s,
            time_per_output_token_target_s=p.time_per_output_token_target_s,
            prompt_token_count=p.prompt_token_count,
            output_token_count=p.output_token_count,
            utilization_fraction=p.utilization_fraction,
            quality_loss_points=[0.0],
        )

    if not accelerator.supports("fp8"):
        assumptions.append(f"{accelerator.name} has no FP8: mixed precision does not change serving")
    transfer_quality = (
        "unknown (not given: counted as 0, never assumed positive)"
        if p.transfer_quality_delta_points is None
        else f"{p.transfer_quality_delta_points:+g} points"
    )
    assumptions.append(
        f"quality: transfer {transfer_quality}, quantization "
        f"-{p.quantization_quality_loss_points}, fp8 serving "
        f"-{p.mixed_precision_serving_quality_loss_points} "
        "(inputs)"
    )
    assumptions.append(
        f"distributed: {distributed_gpus:,} GPUs on the engine's layout, "
        f"{p.global_batch_token_count:,.0f}-token global batch"
    )
    assumptions.append(
        f"transfer: {p.fine_tune_method} fine-tuning of an open base on "
        f"{p.fine_tune_fraction_of_tokens:.0%} of the pre-training tokens"
    )

    strategies: list[LeverStrategy] = []
    for size in range(len(LEVERS) + 1):
        for combo in combinations(LEVERS, size):
            levers = frozenset(combo)
            cost, days, training_gpus, training_layout = training(levers)
            served = serving(levers)
            quality = 0.0
            if "transfer" in levers and p.transfer_quality_delta_points is not None:
                quality += p.transfer_quality_delta_points
            if "quantization" in levers:
                quality -= p.quantization_quality_loss_points
            if "mixed_precision" in levers and accelerator.supports("fp8"):
                quality -= p.mixed_precision_serving_quality_loss_points
            notes = list(assumptions)
            if served is None:
                notes.append(
                    f"no replica of ≤{p.max_gpus_per_replica_count} GPUs fits and meets the latency targets"
                )
            strategies.append(
                LeverStrategy(
                    name="+".join(combo) or "baseline",
                    levers=levers,
                    unit_cost_usd_per_million_tokens=float(served["cost_usd_per_million_output_tokens"])
                    if served
                    else math.inf,
                    one_off_training_usd=cost,
                    training_days=days,
                    training_gpu_count=training_gpus,
                    training_layout=training_layout,
                    quality_delta_points=quality,
                    serving_tokens_per_s_per_gpu=float(served["output_tokens_per_second_per_gpu"])
                    if served
                    else 0.0,
                    assumptions=tuple(notes),
                )
            )
    return strategies
