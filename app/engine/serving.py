"""Serving estimate and the quantization lever (COST-MODEL §8-14).

One array core (`serving_core`) computes every plan; the scalar `estimate_serving` runs it on one plan (and
on a vector of candidate batch sizes when the batch is to be chosen), the sweep on millions of plans.
Compute runs at the *activation* precision: weight-only quantization (W8A16, W4A16) dequantizes to 16-bit
and speeds up only the memory traffic; W8A8/FP8 also uses the faster tensor cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine import formulas as fx
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec, bytes_per_value

DEFAULT_UTILIZATION = 0.5
DEFAULT_MEMORY_EFFICIENCY = 0.8
DEFAULT_COMPUTE_EFFICIENCY = 0.6
DEFAULT_MEMORY_USABLE_FRACTION = 0.9
DEFAULT_HOP_LATENCY_S = 1e-6
SERVING_PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")


class PlanDoesNotFit(ValueError):
    """A plan whose weights and cache exceed the replica's memory ("needs 1,310 GB, has 640 GB")."""

    def __init__(self, needed_gb: float, available_gb: float, detail: str = "") -> None:
        self.needed_gb = needed_gb
        self.available_gb = available_gb
        super().__init__(
            f"plan does not fit: needs {needed_gb:,.0f} GB, has {available_gb:,.0f} GB"
            + (f" ({detail})" if detail else "")
        )


@dataclass(frozen=True)
class ServingPlan:
    """One serving replica configuration.

    batch_size_count None → the largest batch (up to max_batch_size_count) that fits in memory and meets the
    latency targets. prompt/output tokens are per request. quality_loss_points: the quality lost to
    quantization (benchmark points), an input; None is reported as unknown, never as zero.
    tensor_parallel_link_gb_s: per direction; None → half the accelerator's bidirectional interconnect.
    """

    model: ModelSpec
    accelerator: AcceleratorSpec
    gpus_per_replica_count: int = 1
    weight_precision: str = "bf16"
    activation_precision: str = "bf16"
    kv_cache_precision: str = "bf16"
    batch_size_count: int | None = None
    max_batch_size_count: int = 1024
    prompt_token_count: int = 1024
    output_token_count: int = 256
    time_to_first_token_target_s: float | None = None
    time_per_output_token_target_s: float | None = None
    utilization_fraction: float | None = None
    price_usd_per_gpu_hour: float | None = None
    quality_loss_points: float | None = None
    memory_efficiency_fraction: float | None = None
    compute_efficiency_fraction: float | None = None
    memory_usable_fraction: float | None = None
    tensor_parallel_link_gb_s: float | None = None
    hop_latency_s: float = DEFAULT_HOP_LATENCY_S

    def __post_init__(self) -> None:
        for name in ("weight_precision", "activation_precision", "kv_cache_precision"):
            if getattr(self, name) not in SERVING_PRECISIONS:
                raise ValueError(f"{name} must be one of {SERVING_PRECISIONS}")
        if self.gpus_per_replica_count < 1:
            raise ValueError("gpus_per_replica_count must be >= 1")
        if self.batch_size_count is not None and self.batch_size_count < 1:
            raise ValueError("batch_size_count must be >= 1")
        if self.prompt_token_count < 1 or self.output_token_count < 1:
            raise ValueError("prompt_token_count and output_token_count must be >= 1")
        if self.utilization_fraction is not None and not 0 < self.utilization_fraction <= 1:
            raise ValueError("utilization_fraction must be within (0, 1]")


@dataclass(frozen=True)
class ServingEstimate:
    batch_size: int
    weights_bytes: float
    weights_gb_per_gpu: float
    kv_cache_bytes_per_token: float
    kv_cache_gb_per_gpu: float
    memory_gb_per_gpu: float
    available_gb_per_gpu: float
    fits_in_memory: bool
    meets_latency_targets: bool
    message: str
    compute_precision: str
    time_to_first_token_s: float
    time_per_output_token_s: float
    decode_memory_s: float
    decode_compute_s: float
    communication_s: float
    bound: str
    output_tokens_per_second: float
    output_tokens_per_second_per_gpu: float
    cost_usd_per_million_output_tokens: float | None
    cost_usd_per_million_tokens: float | None
    unit_name: str
    cost_usd_per_thousand_units: float | None
    quality_loss_points: float | None
    assumptions: tuple[str, ...]

    gpus_per_replica_count: int = 1

    def raise_if_infeasible(self) -> None:
        """Raise PlanDoesNotFit (with needed/available GB for the whole replica) when memory overflows."""
        if not self.fits_in_memory:
            raise PlanDoesNotFit(
                self.memory_gb_per_gpu * self.gpus_per_replica_count,
                self.available_gb_per_gpu * self.gpus_per_replica_count,
                self.message,
            )


def serving_core(
    *,
    total_parameters: float,
    active_parameters: float,
    layer_count: float,
    kv_values_per_token_per_layer: float,
    hidden_size: float,
    forward_flops_per_unit: float,
    bytes_per_unit: float,
    uses_kv_cache: bool,
    weight_bytes_per_value: Any,
    kv_bytes_per_value: Any,
    peak_tflops: Any,
    memory_bandwidth_tb_s: Any,
    memory_gb: Any,
    gpus_per_replica: Any,
    batch_size: Any,
    price_usd_per_gpu_hour: Any,
    link_gb_s: Any,
    prompt_tokens: float,
    output_tokens: float,
    utilization_fraction: float,
    memory_efficiency_fraction: float,
    compute_efficiency_fraction: float,
    memory_usable_fraction: float,
    hop_latency_s: float,
) -> dict[str, Any]:
    """Every serving quantity for arrays of plans (numpy broadcasting). Bytes, seconds, USD."""
    t = np.asarray(gpus_per_replica, dtype=np.float64)
    b = np.asarray(batch_size, dtype=np.float64)
    weights_bytes = total_parameters * np.asarray(weight_bytes_per_value, dtype=np.float64)
    weights_per_gpu = weights_bytes / t
    read_per_gpu = (
        fx.weight_parameters_read(total_parameters, active_parameters, b) * weight_bytes_per_value / t
    )
    if uses_kv_cache:
        kv_per_token = fx.kv_cache_bytes_per_token(
            layer_count, kv_values_per_token_per_layer, kv_bytes_per_value
        )
        cache_per_gpu = b * (prompt_tokens + output_tokens) * kv_per_token / t
        # Decode reads the cache of each sequence; on average the context is P + O/2 tokens long.
        step_bytes_per_gpu = b * (prompt_tokens + output_tokens / 2.0) * kv_per_token / t
    else:
        kv_per_token = np.zeros_like(weights_bytes)
        cache_per_gpu = b * bytes_per_unit / t
        step_bytes_per_gpu = cache_per_gpu
    memory_per_gpu = weights_per_gpu + cache_per_gpu
    available_per_gpu = np.asarray(memory_gb, dtype=np.float64) * 1e9 * memory_usable_fraction
    fits = memory_per_gpu <= available_per_gpu

    # Tensor parallelism: two all-reduces of the activations per layer (Megatron-LM), 16-bit, on the
    # critical path.
    tp_per_layer = 2.0 * fx.ring_allreduce_s(b * hidden_size * 2.0, t, link_gb_s, hop_latency_s)
    comm_s = np.where(t > 1, tp_per_layer * layer_count, 0.0)
    step_s, memory_s, compute_s = fx.serving_step(
        weight_bytes_read_per_gpu=read_per_gpu,
        per_unit_bytes_per_gpu=step_bytes_per_gpu,
        batch_size=b,
        forward_flops_per_unit=forward_flops_per_unit,
        gpus_per_replica=t,
        peak_tflops=peak_tflops,
        memory_bandwidth_tb_s=memory_bandwidth_tb_s,
        memory_efficiency_fraction=memory_efficiency_fraction,
        compute_efficiency_fraction=compute_efficiency_fraction,
        communication_s=comm_s,
    )
    ttft: Any
    request_s: Any
    if uses_kv_cache:
        prefill_comm = np.where(
            t > 1,
            2.0
            * layer_count
            * fx.ring_allreduce_s(b * prompt_tokens * hidden_size * 2.0, t, link_gb_s, hop_latency_s),
            0.0,
        )
        ttft = (
            fx.prefill_s(
                forward_flops_per_token=forward_flops_per_unit,
                batch_size=b,
                prompt_tokens=prompt_tokens,
                gpus_per_replica=t,
                peak_tflops=peak_tflops,
                compute_efficiency_fraction=compute_efficiency_fraction,
                weight_bytes_per_gpu=weights_per_gpu,
                memory_bandwidth_tb_s=memory_bandwidth_tb_s,
                memory_efficiency_fraction=memory_efficiency_fraction,
            )
            + prefill_comm
        )
        request_s = ttft + output_tokens * step_s
        tokens_per_request = prompt_tokens + output_tokens
    else:
        ttft = step_s
        request_s = step_s
        tokens_per_request = 1.0
    units_per_s = b / step_s
    cost_out = fx.cost_usd_per_million(price_usd_per_gpu_hour, t, units_per_s, utilization_fraction)
    # Blended: a whole request cycle (prefill + every decode step) charged over prompt + output tokens.
    cost_all = fx.cost_usd_per_million(
        price_usd_per_gpu_hour, t, b * tokens_per_request / request_s, utilization_fraction
    )
    return {
        "weights_bytes": weights_bytes,
        "weights_bytes_per_gpu": weights_per_gpu,
        "kv_cache_bytes_per_token": kv_per_token,
        "cache_bytes_per_gpu": cache_per_gpu,
        "memory_bytes_per_gpu": memory_per_gpu,
        "available_bytes_per_gpu": available_per_gpu,
        "fits": fits,
        "time_to_first_token_s": ttft,
        "time_per_output_token_s": step_s,
        "decode_memory_s": memory_s,
        "decode_compute_s": compute_s,
        "communication_s": comm_s,
        "units_per_s": units_per_s,
        "units_per_s_per_gpu": units_per_s / t,
        "cost_usd_per_million_output": cost_out,
        "cost_usd_per_million_blended": cost_all,
    }


def _resolved(plan: ServingPlan) -> tuple[dict[str, Any], list[str]]:
    """Defaults filled in, with the assumptions they imply."""
    assumptions: list[str] = []

    def pick(value: float | None, default: float, text: str) -> float:
        if value is None:
            assumptions.append(text)
            return default
        return value

    util = pick(
        plan.utilization_fraction,
        DEFAULT_UTILIZATION,
        f"utilisation {DEFAULT_UTILIZATION:.0%} (diurnal traffic, latency headroom)",
    )
    eff_mem = pick(
        plan.memory_efficiency_fraction,
        DEFAULT_MEMORY_EFFICIENCY,
        f"{DEFAULT_MEMORY_EFFICIENCY:.0%} of peak memory bandwidth achieved",
    )
    eff_cmp = pick(
        plan.compute_efficiency_fraction,
        DEFAULT_COMPUTE_EFFICIENCY,
        f"{DEFAULT_COMPUTE_EFFICIENCY:.0%} of peak tensor throughput achieved",
    )
    usable = pick(
        plan.memory_usable_fraction,
        DEFAULT_MEMORY_USABLE_FRACTION,
        f"{DEFAULT_MEMORY_USABLE_FRACTION:.0%} of GPU memory usable for weights and cache",
    )
    acc = plan.accelerator
    link = plan.tensor_parallel_link_gb_s
    if link is None:
        link = (acc.interconnect_bandwidth_gb_s or 64.0) / 2.0
        if plan.gpus_per_replica_count > 1:
            assumptions.append(
                f"tensor-parallel link {link:g} GB/s per direction (half the bidirectional figure)"
            )
    model = plan.model
    if model.uses_kv_cache and model.kv_values_per_token_per_layer is None:
        raise ValueError(
            "a language model needs layer_count, hidden_size and attention_head_count for its KV cache"
        )
    quantized = (
        min(
            bytes_per_value(p)
            for p in (plan.weight_precision, plan.activation_precision, plan.kv_cache_precision)
        )
        < 2.0
    )
    if quantized and plan.quality_loss_points is None:
        assumptions.append("quality loss of quantization not given: unknown (not assumed zero)")
    if model.active_parameter_count is not None and model.active_parameter_count < model.parameter_count:
        assumptions.append("mixture of experts: all experts resident; uniform routing decides weights read")
    if (
        plan.gpus_per_replica_count > 1
        and model.kv_head_count
        and model.kv_head_count < plan.gpus_per_replica_count
    ):
        assumptions.append("fewer KV heads than GPUs: KV cache assumed evenly split anyway (optimistic)")
    return {
        "total_parameters": model.parameter_count,
        "active_parameters": model.active_parameters,
        "layer_count": float(model.layer_count or 0),
        "kv_values_per_token_per_layer": float(model.kv_values_per_token_per_layer or 0),
        "hidden_size": float(model.hidden_size or 0),
        "forward_flops_per_unit": model.forward_flops_per_unit,
        "bytes_per_unit": float(model.bytes_per_unit or 0.0),
        "uses_kv_cache": model.uses_kv_cache,
        "weight_bytes_per_value": bytes_per_value(plan.weight_precision),
        "kv_bytes_per_value": bytes_per_value(plan.kv_cache_precision),
        "peak_tflops": acc.peak_tflops_for(plan.activation_precision),
        "memory_bandwidth_tb_s": acc.memory_bandwidth_tb_s,
        "memory_gb": acc.memory_gb,
        "gpus_per_replica": float(plan.gpus_per_replica_count),
        "price_usd_per_gpu_hour": plan.price_usd_per_gpu_hour
        if plan.price_usd_per_gpu_hour is not None
        else np.nan,
        "link_gb_s": link,
        "prompt_tokens": float(plan.prompt_token_count),
        "output_tokens": float(plan.output_token_count),
        "utilization_fraction": util,
        "memory_efficiency_fraction": eff_mem,
        "compute_efficiency_fraction": eff_cmp,
        "memory_usable_fraction": usable,
        "hop_latency_s": plan.hop_latency_s,
    }, assumptions


def estimate_serving(plan: ServingPlan) -> ServingEstimate:
    """Memory, latency, throughput and cost of one replica; picks the batch when none is given."""
    inputs, assumptions = _resolved(plan)
    if plan.batch_size_count is None:
        candidates = np.arange(1, plan.max_batch_size_count + 1, dtype=np.float64)
    else:
        candidates = np.array([float(plan.batch_size_count)])
    r = serving_core(**inputs, batch_size=candidates)
    ok = np.asarray(r["fits"], dtype=bool)
    latency_ok = np.ones_like(ok)
    if plan.time_to_first_token_target_s is not None:
        latency_ok &= r["time_to_first_token_s"] <= plan.time_to_first_token_target_s
    if plan.time_per_output_token_target_s is not None:
        latency_ok &= r["time_per_output_token_s"] <= plan.time_per_output_token_target_s
    valid = ok & latency_ok
    if plan.batch_size_count is None:
        assumptions.append(
            f"batch = largest of 1..{plan.max_batch_size_count} that fits and meets the latency targets"
        )
        index = int(np.flatnonzero(valid)[-1]) if valid.any() else 0
    else:
        index = 0
    pick = {k: float(np.broadcast_to(v, candidates.shape)[index]) for k, v in r.items()}
    gpus = plan.gpus_per_replica_count
    fits = bool(ok[index])
    meets = bool(latency_ok[index])
    needed_gb = pick["memory_bytes_per_gpu"] * gpus / 1e9
    available_gb = pick["available_bytes_per_gpu"] * gpus / 1e9
    batch = int(candidates[index])
    if not fits:
        message = (
            f"does not fit: needs {needed_gb:,.0f} GB, has {available_gb:,.0f} GB on {gpus} x "
            f"{plan.accelerator.name} at batch {batch}"
        )
    elif not meets:
        message = (
            f"fits ({needed_gb:,.0f} of {available_gb:,.0f} GB) but misses the latency targets even at "
            f"batch {batch}: TTFT {pick['time_to_first_token_s']:.3g} s, TPOT "
            f"{pick['time_per_output_token_s']:.3g} s"
        )
    else:
        message = f"fits: needs {needed_gb:,.1f} GB, has {available_gb:,.1f} GB at batch {batch}"
    priced = plan.price_usd_per_gpu_hour is not None
    if not priced:
        assumptions.append("no price per GPU-hour given: costs not computed")
    bound = "memory" if pick["decode_memory_s"] >= pick["decode_compute_s"] else "compute"
    return ServingEstimate(
        batch_size=batch,
        weights_bytes=pick["weights_bytes"],
        weights_gb_per_gpu=pick["weights_bytes_per_gpu"] / 1e9,
        kv_cache_bytes_per_token=pick["kv_cache_bytes_per_token"],
        kv_cache_gb_per_gpu=pick["cache_bytes_per_gpu"] / 1e9,
        memory_gb_per_gpu=pick["memory_bytes_per_gpu"] / 1e9,
        available_gb_per_gpu=pick["available_bytes_per_gpu"] / 1e9,
        fits_in_memory=fits,
        meets_latency_targets=meets,
        message=message,
        compute_precision=plan.activation_precision,
        time_to_first_token_s=pick["time_to_first_token_s"],
        time_per_output_token_s=pick["time_per_output_token_s"],
        decode_memory_s=pick["decode_memory_s"],
        decode_compute_s=pick["decode_compute_s"],
        communication_s=pick["communication_s"],
        bound=bound,
        output_tokens_per_second=pick["units_per_s"],
        output_tokens_per_second_per_gpu=pick["units_per_s_per_gpu"],
        cost_usd_per_million_output_tokens=pick["cost_usd_per_million_output"] if priced else None,
        cost_usd_per_million_tokens=pick["cost_usd_per_million_blended"] if priced else None,
        unit_name=plan.model.unit_name,
        cost_usd_per_thousand_units=pick["cost_usd_per_million_output"] / 1000.0 if priced else None,
        quality_loss_points=plan.quality_loss_points,
        assumptions=tuple(assumptions),
        gpus_per_replica_count=gpus,
    )


def compute_bound_batch_size(
    accelerator: AcceleratorSpec, weight_precision: str, activation_precision: str
) -> float:
    """Batch where a dense decode step turns compute-bound, ignoring KV reads and efficiencies:
    peak · bytes_per_weight / (2 · bandwidth) (COST-MODEL §11; ≈295 on H100 in BF16)."""
    peak = accelerator.peak_tflops_for(activation_precision) * fx.TERA
    return peak * bytes_per_value(weight_precision) / (2.0 * accelerator.memory_bandwidth_tb_s * fx.TERA)
