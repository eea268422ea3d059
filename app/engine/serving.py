"""Serving estimate and the quantization lever (docs/methodology/serving.md).

One array core (`serving_core`) computes every plan: a replica running continuous batching with chunked
prefill in steady state, as vLLM and TensorRT-LLM do. The scalar `estimate_serving` runs it on one plan (and
on CONCURRENCY_CANDIDATES when the concurrency is to be chosen), the sweep on millions of plans: the same
inputs give the same plan and the same $/1M everywhere.
Compute runs at the *activation* precision: weight-only quantization (W8A16, W4A16) dequantizes to 16-bit
and speeds up only the memory traffic; W8A8/FP8 also uses the faster tensor cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from app.engine import formulas as fx
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec, bytes_per_value

DEFAULT_UTILIZATION = 0.5
# Achieved share of peak HBM bandwidth (weight streaming and paged KV reads). 0.75 puts all 60 rows of
# the TensorRT-LLM 1.0 performance overview within ±30 % (0.80 left three at +30-33 %): see
# app/engine/serving_validation.py.
DEFAULT_MEMORY_EFFICIENCY = 0.75
DEFAULT_COMPUTE_EFFICIENCY = 0.6
DEFAULT_MEMORY_USABLE_FRACTION = 0.9
# Per hop of a ring all-reduce (NCCL on NVLink, small messages); the training layouts use the same figure.
DEFAULT_HOP_LATENCY_S = 5e-6
# Tokens one iteration may hold (prompt chunks + decode tokens): TensorRT-LLM's max_num_tokens default and
# vLLM's max_num_batched_tokens for chunked prefill are both 8,192.
DEFAULT_MAX_BATCHED_TOKEN_COUNT = 8192
# The concurrencies every plan search tries (Models, Strategy lab, simulator unit costs, sweeps, the API):
# powers of two and the midpoints between them, 1 to 1,024.
CONCURRENCY_CANDIDATES: tuple[int, ...] = (
    1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
)  # fmt: skip
MODES: tuple[str, ...] = ("max_throughput", "latency_targets")
# Queueing: Poisson arrivals at the utilisation; at 100 % the wait is unbounded, so loads are capped here.
MAX_QUEUE_LOAD = 0.99
ServingPrecision = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"]
SERVING_PRECISIONS: tuple[str, ...] = get_args(ServingPrecision)


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

    batch_size_count: the concurrency (requests in flight). None → searched over CONCURRENCY_CANDIDATES up
    to max_batch_size_count: with no latency targets the one with the highest output throughput that fits
    ("max_throughput" mode, what vendors' max-throughput tables measure); with targets the one with the
    highest throughput that fits and meets them ("latency_targets" mode: the largest such concurrency
    whenever throughput rises with concurrency). prompt/output tokens are per request.
    max_batched_token_count: tokens one iteration may hold (chunked-prefill budget).
    quality_loss_points: the quality lost to quantization (benchmark points), an input; None is reported as
    unknown, never as zero.
    tensor_parallel_link_gb_s: per direction; None → half the accelerator's bidirectional interconnect.
    efficiency_factor: calibration on the user's measurements (app/services/measurements.py): every part of
    an iteration (GEMMs, attention, all-reduces) runs k times as fast as the uncalibrated model says, so at
    the same concurrency every rate is k times the uncalibrated one and every $/1M is divided by k. None → 1.
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
    max_batched_token_count: int = DEFAULT_MAX_BATCHED_TOKEN_COUNT
    efficiency_factor: float | None = None

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
        if self.max_batched_token_count < 1:
            raise ValueError("max_batched_token_count must be >= 1")
        if self.efficiency_factor is not None and not 0 < self.efficiency_factor < float("inf"):
            raise ValueError("efficiency_factor must be a positive finite number")

    @property
    def has_latency_targets(self) -> bool:
        return (
            self.time_to_first_token_target_s is not None or self.time_per_output_token_target_s is not None
        )


@dataclass(frozen=True)
class ServingEstimate:
    """One replica in steady state. output_tokens_per_second: end-to-end output throughput counting the time
    spent on prompts (what the cost divides by); decode_output_tokens_per_second: the decode-only rate at the
    same concurrency; prefill_input_tokens_per_second: the prompt-only rate at the chunk budget.
    meets_latency_targets is True only when targets were given and are met."""

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
    mode: str = "max_throughput"
    input_tokens_per_second: float = 0.0
    decode_output_tokens_per_second: float = 0.0
    prefill_input_tokens_per_second: float = 0.0
    iteration_s: float = 0.0
    gemm_memory_s: float = 0.0
    gemm_compute_s: float = 0.0
    attention_s: float = 0.0
    queue_wait_s: float = 0.0
    prefill_iteration_count: float = 0.0

    def raise_if_infeasible(self) -> None:
        """Raise PlanDoesNotFit (with needed/available GB for the whole replica) when memory overflows."""
        if not self.fits_in_memory:
            raise PlanDoesNotFit(
                self.memory_gb_per_gpu * self.gpus_per_replica_count,
                self.available_gb_per_gpu * self.gpus_per_replica_count,
                self.message,
            )


def _iteration(
    *,
    prefill_tokens: Any,
    decode_tokens: Any,
    decode_context_tokens: float,
    prompt_tokens: float,
    total_parameters: float,
    active_parameters: float,
    weight_bytes_per_value: Any,
    kv_bytes_per_token: Any,
    layer_count: float,
    hidden_size: float,
    forward_flops_per_unit: float,
    gpus: Any,
    flops_per_s: Any,
    bytes_per_s: Any,
    link_gb_s: Any,
    hop_latency_s: float,
) -> dict[str, Any]:
    """Seconds of one continuous-batching iteration on one GPU of the replica (tensor-parallel over `gpus`).

    The GEMMs (every weight matrix, all tokens of the iteration at once) read the weights once and do
    2·N_active FLOPs per token: max(weight bytes / bandwidth, FLOPs / peak). Attention is bound separately:
    each decode token reads its sequence's KV cache (memory-bound, context P + O/2 on average), each prefill
    token attends causally to P/2 earlier tokens on average (compute-bound, 4·L·h FLOPs per token and context
    token). Tensor parallelism adds two all-reduces of the activations per layer. The parts are summed
    (kernels run one after another), not hidden under one max over the whole step.
    """
    tokens = prefill_tokens + decode_tokens
    read = fx.weight_parameters_read(total_parameters, active_parameters, np.maximum(tokens, 1.0))
    gemm_memory_s = read * weight_bytes_per_value / gpus / bytes_per_s
    gemm_compute_s = forward_flops_per_unit * tokens / gpus / flops_per_s
    kv_read_s = decode_tokens * decode_context_tokens * kv_bytes_per_token / gpus / bytes_per_s
    per_context_flops = 4.0 * layer_count * hidden_size
    decode_attention_flops_s = decode_tokens * decode_context_tokens * per_context_flops / gpus / flops_per_s
    prefill_attention_s = prefill_tokens * (prompt_tokens / 2.0) * per_context_flops / gpus / flops_per_s
    attention_s = np.maximum(kv_read_s, decode_attention_flops_s) + prefill_attention_s
    communication_s = np.where(
        gpus > 1,
        2.0 * layer_count * fx.ring_allreduce_s(tokens * hidden_size * 2.0, gpus, link_gb_s, hop_latency_s),
        0.0,
    )
    total = np.maximum(gemm_memory_s, gemm_compute_s) + attention_s + communication_s
    return {
        "total": total,
        "gemm_memory_s": gemm_memory_s,
        "gemm_compute_s": gemm_compute_s,
        "kv_read_s": kv_read_s,
        "attention_s": attention_s,
        "attention_compute_s": decode_attention_flops_s + prefill_attention_s,
        "communication_s": communication_s,
    }


def queue_wait_s(load_fraction: Any, slot_count: Any, service_s: Any) -> Any:
    """Mean wait for a free slot: M/D/c by Sakasegawa's approximation (Poisson arrivals at `load_fraction`
    of capacity, c slots each busy `service_s` per request, deterministic service):
    Wq ≈ ρ^(√(2(c+1)) − 1) / (c·(1 − ρ)) · S / 2. Exact for c = 1 (Pollaczek-Khinchine). The wait is unbounded
    as ρ → 1: loads above MAX_QUEUE_LOAD are taken at it (a very long, finite wait, not an error)."""
    rho = np.minimum(np.asarray(load_fraction, dtype=np.float64), MAX_QUEUE_LOAD)
    c = np.asarray(slot_count, dtype=np.float64)
    return rho ** (np.sqrt(2.0 * (c + 1.0)) - 1.0) / (c * (1.0 - rho)) * service_s / 2.0


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
    max_batched_tokens: float = 8192.0,
    efficiency_factor: float = 1.0,
) -> dict[str, Any]:
    """Every serving quantity for arrays of plans (numpy broadcasting). Bytes, seconds, USD.

    A language-model replica runs continuous (in-flight) batching with chunked prefill, as vLLM and
    TensorRT-LLM do, in steady state with `batch_size` requests in flight (the concurrency b). Each iteration
    runs one decode token of every request past its prefill plus prompt chunks, at most `max_batched_tokens`
    tokens in all. A request spends k prefill iterations and O − 1 decode iterations, so per iteration there
    are b·P/(k+O−1) prompt tokens and b·(O−1)/(k+O−1) decode tokens, with
    k = max(⌈P / C⌉, b·(P+O−1)/C − (O−1)) (the token budget C caps an iteration).
    Output throughput = b·O / ((k+O−1)·T_iteration): every second the replica spends on prompts counts.
    Time per output token = T_iteration (prompt chunks interleave with decoding). Time to first token =
    the request's own k chunked-prefill iterations + the wait for a free slot at the load (queue_wait_s).
    Non-language units: one batch of b units per step, no cache, no prefill.
    efficiency_factor k (calibration): tensor throughput, memory bandwidth and link bandwidth × k, hop
    latency ÷ k, so every part of every iteration takes 1/k of its uncalibrated time (throughput × k exactly).
    """
    k = float(efficiency_factor)
    compute_efficiency_fraction = compute_efficiency_fraction * k
    memory_efficiency_fraction = memory_efficiency_fraction * k
    link_gb_s = np.asarray(link_gb_s, dtype=np.float64) * k
    hop_latency_s = hop_latency_s / k
    t = np.asarray(gpus_per_replica, dtype=np.float64)
    b = np.asarray(batch_size, dtype=np.float64)
    weights_bytes = total_parameters * np.asarray(weight_bytes_per_value, dtype=np.float64)
    weights_per_gpu = weights_bytes / t
    flops_per_s = np.asarray(peak_tflops, dtype=np.float64) * fx.TERA * compute_efficiency_fraction
    bytes_per_s = np.asarray(memory_bandwidth_tb_s, dtype=np.float64) * fx.TERA * memory_efficiency_fraction
    available_per_gpu = np.asarray(memory_gb, dtype=np.float64) * 1e9 * memory_usable_fraction
    out: dict[str, Any]
    if uses_kv_cache:
        kv_per_token = fx.kv_cache_bytes_per_token(
            layer_count, kv_values_per_token_per_layer, kv_bytes_per_value
        )
        cache_per_gpu = b * (prompt_tokens + output_tokens) * kv_per_token / t
        memory_per_gpu = weights_per_gpu + cache_per_gpu
        common = dict(
            decode_context_tokens=prompt_tokens + output_tokens / 2.0,
            prompt_tokens=prompt_tokens,
            total_parameters=total_parameters,
            active_parameters=active_parameters,
            weight_bytes_per_value=weight_bytes_per_value,
            kv_bytes_per_token=kv_per_token,
            layer_count=layer_count,
            hidden_size=hidden_size,
            forward_flops_per_unit=forward_flops_per_unit,
            gpus=t,
            flops_per_s=flops_per_s,
            bytes_per_s=bytes_per_s,
            link_gb_s=link_gb_s,
            hop_latency_s=hop_latency_s,
        )
        decode_steps = max(output_tokens - 1.0, 0.0)
        chunk = float(max_batched_tokens)
        prefill_iterations = np.maximum(
            np.ceil(prompt_tokens / chunk), b * (prompt_tokens + decode_steps) / chunk - decode_steps
        )
        cycle_iterations = prefill_iterations + decode_steps
        prefill_per_iteration = b * prompt_tokens / cycle_iterations
        decode_per_iteration = b * decode_steps / cycle_iterations
        mixed = _iteration(prefill_tokens=prefill_per_iteration, decode_tokens=decode_per_iteration, **common)
        step_s = mixed["total"]
        # The iterations holding this request's own prompt chunks: its chunk, or the average prefill load.
        own = _iteration(
            prefill_tokens=np.maximum(prompt_tokens / prefill_iterations, prefill_per_iteration),
            decode_tokens=decode_per_iteration,
            **common,
        )
        request_s = cycle_iterations * step_s
        wait_s = queue_wait_s(utilization_fraction, b, request_s)
        ttft = prefill_iterations * own["total"] + wait_s
        output_per_s = b * output_tokens / request_s
        input_per_s = b * prompt_tokens / request_s
        decode_only = _iteration(prefill_tokens=0.0, decode_tokens=b, **common)
        prefill_only = _iteration(prefill_tokens=chunk, decode_tokens=0.0, **common)
        out = {
            "iteration_s": step_s,
            "gemm_memory_s": mixed["gemm_memory_s"],
            "gemm_compute_s": mixed["gemm_compute_s"],
            "attention_s": mixed["attention_s"],
            "communication_s": mixed["communication_s"],
            "prefill_iterations": prefill_iterations,
            "queue_wait_s": wait_s,
            "decode_memory_s": decode_only["gemm_memory_s"] + decode_only["kv_read_s"],
            "decode_compute_s": decode_only["gemm_compute_s"] + decode_only["attention_compute_s"],
            "decode_units_per_s": b / decode_only["total"],
            "prefill_units_per_s": chunk / prefill_only["total"],
        }
    else:
        kv_per_token = np.zeros_like(weights_bytes)
        cache_per_gpu = b * bytes_per_unit / t
        memory_per_gpu = weights_per_gpu + cache_per_gpu
        read_per_gpu = fx.weight_parameters_read(total_parameters, active_parameters, b) * (
            np.asarray(weight_bytes_per_value, dtype=np.float64) / t
        )
        comm = np.where(
            t > 1,
            2.0 * layer_count * fx.ring_allreduce_s(b * hidden_size * 2.0, t, link_gb_s, hop_latency_s),
            0.0,
        )
        step_s, memory_s, compute_s = fx.serving_step(
            weight_bytes_read_per_gpu=read_per_gpu,
            per_unit_bytes_per_gpu=cache_per_gpu,
            batch_size=b,
            forward_flops_per_unit=forward_flops_per_unit,
            gpus_per_replica=t,
            peak_tflops=peak_tflops,
            memory_bandwidth_tb_s=memory_bandwidth_tb_s,
            memory_efficiency_fraction=memory_efficiency_fraction,
            compute_efficiency_fraction=compute_efficiency_fraction,
            communication_s=comm,
        )
        ttft = step_s
        output_per_s = b / step_s
        input_per_s = np.zeros_like(output_per_s)
        out = {
            "iteration_s": step_s,
            "gemm_memory_s": memory_s,
            "gemm_compute_s": compute_s,
            "attention_s": np.zeros_like(step_s),
            "communication_s": comm,
            "prefill_iterations": np.zeros_like(step_s),
            "queue_wait_s": np.zeros_like(step_s),
            "decode_memory_s": memory_s,
            "decode_compute_s": compute_s,
            "decode_units_per_s": output_per_s,
            "prefill_units_per_s": np.zeros_like(step_s),
        }
    fits = memory_per_gpu <= available_per_gpu
    cost_out = fx.cost_usd_per_million(price_usd_per_gpu_hour, t, output_per_s, utilization_fraction)
    # Blended: the same replica-hours charged over prompt + output tokens.
    cost_all = fx.cost_usd_per_million(
        price_usd_per_gpu_hour, t, output_per_s + input_per_s, utilization_fraction
    )
    out.update(
        {
            "weights_bytes": weights_bytes,
            "weights_bytes_per_gpu": weights_per_gpu,
            "kv_cache_bytes_per_token": kv_per_token,
            "cache_bytes_per_gpu": cache_per_gpu,
            "memory_bytes_per_gpu": memory_per_gpu,
            "available_bytes_per_gpu": available_per_gpu,
            "fits": fits,
            "time_to_first_token_s": ttft,
            "time_per_output_token_s": out["iteration_s"],
            "units_per_s": output_per_s,
            "input_units_per_s": input_per_s,
            "units_per_s_per_gpu": output_per_s / t,
            "cost_usd_per_million_output": cost_out,
            "cost_usd_per_million_blended": cost_all,
        }
    )
    return out


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
        "max_batched_tokens": float(plan.max_batched_token_count),
        "efficiency_factor": float(plan.efficiency_factor) if plan.efficiency_factor is not None else 1.0,
    }, assumptions


def concurrency_candidates(max_batch_size_count: int = 1024) -> tuple[int, ...]:
    """The concurrencies a plan search tries: CONCURRENCY_CANDIDATES up to the cap."""
    return tuple(c for c in CONCURRENCY_CANDIDATES if c <= max_batch_size_count) or (1,)


def estimate_serving(plan: ServingPlan) -> ServingEstimate:
    """Memory, latency, throughput and cost of one replica; picks the concurrency when none is given."""
    inputs, assumptions = _resolved(plan)
    targets = plan.has_latency_targets
    mode = "latency_targets" if targets else "max_throughput"
    if plan.batch_size_count is None:
        candidates = np.array(concurrency_candidates(plan.max_batch_size_count), dtype=np.float64)
    else:
        candidates = np.array([float(plan.batch_size_count)])
    r = serving_core(**inputs, batch_size=candidates)
    ok = np.broadcast_to(np.asarray(r["fits"], dtype=bool), candidates.shape)
    latency_ok = np.ones_like(ok)
    if plan.time_to_first_token_target_s is not None:
        latency_ok &= r["time_to_first_token_s"] <= plan.time_to_first_token_target_s
    if plan.time_per_output_token_target_s is not None:
        latency_ok &= r["time_per_output_token_s"] <= plan.time_per_output_token_target_s
    valid = ok & latency_ok
    if plan.batch_size_count is None:
        if targets:
            assumptions.append(
                "latency-targets mode: the concurrency (of "
                f"{int(candidates[0])}..{int(candidates[-1])}) with the highest output throughput that fits "
                "and meets the targets"
            )
        else:
            assumptions.append(
                "max-throughput mode (no latency targets given): the concurrency (of "
                f"{int(candidates[0])}..{int(candidates[-1])}) with the highest output throughput that fits"
            )
        throughput = np.broadcast_to(r["units_per_s"], candidates.shape)
        index = int(np.argmax(np.where(valid, throughput, -np.inf))) if valid.any() else 0
    else:
        index = 0
        if not targets:
            assumptions.append("no latency targets given: none are claimed to be met")
    pick = {k: float(np.broadcast_to(v, candidates.shape)[index]) for k, v in r.items()}
    gpus = plan.gpus_per_replica_count
    fits = bool(ok[index])
    meets = targets and bool(latency_ok[index])
    needed_gb = pick["memory_bytes_per_gpu"] * gpus / 1e9
    available_gb = pick["available_bytes_per_gpu"] * gpus / 1e9
    batch = int(candidates[index])
    if not fits:
        message = (
            f"does not fit: needs {needed_gb:,.0f} GB, has {available_gb:,.0f} GB on {gpus} x "
            f"{plan.accelerator.name} at concurrency {batch}"
        )
    elif targets and not meets:
        message = (
            f"fits ({needed_gb:,.0f} of {available_gb:,.0f} GB) but misses the latency targets even at "
            f"concurrency {batch}: TTFT {pick['time_to_first_token_s']:.3g} s, TPOT "
            f"{pick['time_per_output_token_s']:.3g} s"
        )
    else:
        message = f"fits: needs {needed_gb:,.1f} GB, has {available_gb:,.1f} GB at concurrency {batch}"
    priced = plan.price_usd_per_gpu_hour is not None
    if not priced:
        assumptions.append("no price per GPU-hour given: costs not computed")
    if plan.model.uses_kv_cache:
        assumptions.append(
            f"continuous batching with chunked prefill ({plan.max_batched_token_count:,} tokens per "
            "iteration), steady state; time to first token = own prefill chunks + M/D/c queueing at "
            "the utilisation"
        )
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
        mode=mode,
        input_tokens_per_second=pick["input_units_per_s"],
        decode_output_tokens_per_second=pick["decode_units_per_s"],
        prefill_input_tokens_per_second=pick["prefill_units_per_s"],
        iteration_s=pick["iteration_s"],
        gemm_memory_s=pick["gemm_memory_s"],
        gemm_compute_s=pick["gemm_compute_s"],
        attention_s=pick["attention_s"],
        queue_wait_s=pick["queue_wait_s"],
        prefill_iteration_count=pick["prefill_iterations"],
    )


def compute_bound_batch_size(
    accelerator: AcceleratorSpec, weight_precision: str, activation_precision: str
) -> float:
    """Batch where a dense decode step turns compute-bound, ignoring KV reads and efficiencies:
    peak · bytes_per_weight / (2 · bandwidth) (docs/methodology/cost-model.md §11; ≈295 on H100 in BF16)."""
    peak = accelerator.peak_tflops_for(activation_precision) * fx.TERA
    return peak * bytes_per_value(weight_precision) / (2.0 * accelerator.memory_bandwidth_tb_s * fx.TERA)
