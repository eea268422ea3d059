"""The 16 combinations of the article's four levers, each computed by the real estimate functions.

Baseline (documented choice): pre-train from scratch on one 8-GPU node (more if the model states do not fit:
the fewest whole nodes that hold them), TF32 matmuls (fp32 where the part has no TF32) without mixed
precision, MFU end-to-end; serve in bf16 weights/activations/KV with the cheapest GPUs-per-replica count in
{1, 2, 4, 8} and the largest batch that fits and meets the latency targets.
Levers:
- distributed: train on `distributed_gpu_count` GPUs with a modelled parallel layout (scaling efficiency
  < 1): wall-clock falls, GPU-hours and cost rise a little;
- transfer: fine-tune an open base on a fraction of the tokens instead of pre-training;
- quantization: serve with int8 weights and KV cache (weight-only: activations stay 16-bit);
- mixed_precision: train in bf16 (fp16 without bf16); serve with fp8 weights and activations where the part
  has FP8 (W8A8-FP8, as serving stacks run it; never bf16 weights with fp8 compute).
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
from app.engine.parallelism import ParallelismPlan
from app.engine.sweep import cheapest_serving_plan
from app.engine.training import TrainingPlan, estimate_training, minimum_gpu_count

LEVERS: tuple[str, ...] = ("distributed", "transfer", "quantization", "mixed_precision")


@dataclass(frozen=True)
class LeverParameters:
    """Lever settings; every default is an assumption recorded in the strategies."""

    baseline_gpu_count: int = 8
    distributed_gpu_count: int = 256
    gpus_per_node_count: int = 8
    inter_node_bandwidth_gb_s: float = 25.0
    global_batch_token_count: float = 4 * 2**20
    mfu_fraction: float | None = None
    fine_tune_fraction_of_tokens: float = 0.01
    fine_tune_method: str = "full"
    transfer_quality_delta_points: float = 2.0
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


def _training_precisions(accelerator: AcceleratorSpec) -> tuple[str, str]:
    mixed = "bf16" if accelerator.supports("bf16") else "fp16"
    # A part with no 32-bit matrix throughput (TPUs) can only train in 16-bit: its baseline is the mixed one.
    baseline = next((p for p in ("tf32", "fp32") if accelerator.supports(p)), mixed)
    return baseline, mixed


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
    base_precision, mixed_precision = _training_precisions(accelerator)
    assumptions.append(
        f"baseline: pre-training from scratch in {base_precision} (no mixed precision), "
        f"bf16 serving without quantization"
    )

    def training(levers: frozenset[str]) -> tuple[float, float]:
        precision = mixed_precision if "mixed_precision" in levers else base_precision
        plan = TrainingPlan(
            model=model,
            training_tokens=tokens,
            accelerator=accelerator,
            gpu_count=p.baseline_gpu_count,
            precision=precision,
            mfu_fraction=p.mfu_fraction,
            price_usd_per_gpu_hour=price_usd_per_gpu_hour,
        )
        needed = minimum_gpu_count(plan) or p.baseline_gpu_count
        node = p.gpus_per_node_count
        gpus = max(p.baseline_gpu_count, math.ceil(needed / node) * node)
        if "distributed" in levers:
            gpus = max(gpus, p.distributed_gpu_count)
            tensor = node if gpus >= node else gpus
            layout = ParallelismPlan(
                data_parallel_count=gpus // tensor,
                tensor_parallel_count=tensor,
                zero_stage=1,
                global_batch_token_count=p.global_batch_token_count,
                gpus_per_node_count=node,
                inter_node_bandwidth_gb_s=p.inter_node_bandwidth_gb_s,
            )
            plan = replace(plan, gpu_count=layout.gpu_count, parallelism=layout)
        else:
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
            return float(ft.total_cost_usd or 0.0), ft.fine_tune.wall_clock_days
        estimate = estimate_training(plan)
        return float(estimate.cost_usd or 0.0), estimate.wall_clock_days

    def serving(levers: frozenset[str]) -> dict[str, Any] | None:
        """The cheapest replica (GPUs per replica 1, 2, 4, … and every shared concurrency) meeting the
        latency targets: the plan search every caller shares."""
        # 16-bit serving is bf16 where the part has it, else fp16 (V100, T4 have no bf16 tensor cores).
        half = _training_precisions(accelerator)[1]
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
        assumptions.append(f"{accelerator.name} has no FP8: mixed precision changes training only")
    assumptions.append(
        f"quality: transfer +{p.transfer_quality_delta_points} points, quantization "
        f"-{p.quantization_quality_loss_points}, fp8 serving "
        f"-{p.mixed_precision_serving_quality_loss_points} "
        "(inputs)"
    )
    assumptions.append(
        f"distributed: {p.distributed_gpu_count} GPUs, tensor-parallel within {p.gpus_per_node_count}-GPU "
        f"nodes, ZeRO-1, {p.inter_node_bandwidth_gb_s:g} GB/s per GPU across nodes, "
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
            cost, days = training(levers)
            served = serving(levers)
            quality = 0.0
            if "transfer" in levers:
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
                    quality_delta_points=quality,
                    serving_tokens_per_s_per_gpu=float(served["output_tokens_per_second_per_gpu"])
                    if served
                    else 0.0,
                    assumptions=tuple(notes),
                )
            )
    return strategies
