"""Distributed training lever: data/tensor/pipeline parallelism, ZeRO, links → step time, scaling efficiency.

A training step at a fixed global batch (tokens per optimizer step, as real runs fix it) is the ideal compute
time (model FLOPs / GPUs / peak / MFU) plus what the layout adds:
- the pipeline bubble (p−1)/(v·m) of interleaved 1F1B scheduling with v model chunks per GPU (default
  v = min(4, layers per stage); v = 1 is plain 1F1B), m micro-batches per pipeline per step (Narayanan et al.
  2021) — with a fixed global batch, more data-parallel replicas leave fewer micro-batches to fill it;
- the data-parallel gradient synchronisation: a ring all-reduce (= reduce-scatter + all-gather, ZeRO-1/2) of
  the gradients each GPU holds, or 1.5× those bytes for ZeRO-3 (weights all-gathered in the forward and the
  backward, gradients reduce-scattered; Rajbhandari et al. 2020). It runs on NVLink when the replicas share a
  node, else on the inter-node network (per GPU NIC bandwidth). A stated fraction (DEFAULT_OVERLAP_FRACTION,
  below 1) of it can hide behind the backward pass, never more than the backward pass lasts;
- tensor-parallel collectives: 4 all-reduces (or reduce-scatter/all-gather pairs with sequence parallelism,
  the same bytes) of b·s·h activations per layer per micro-batch, 6 with full recomputation, on the critical
  path (Megatron-LM);
- pipeline point-to-point sends of each micro-batch's activations forward and their gradients backward.
Scaling efficiency = ideal step time / modelled step time. Every function works on numpy arrays (the sweep
evaluates millions of layouts at once with the same code the scalar estimate uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine import formulas as fx

# Share of the data-parallel gradient traffic that overlaps with the backward pass (bucketed all-reduce /
# reduce-scatter as PyTorch DDP, FSDP and Megatron's distributed optimizer do). Never 1: the last bucket, the
# optimizer step and stragglers always wait.
DEFAULT_OVERLAP_FRACTION = 0.8
# Tokens per optimizer step when none is given: Llama 2 (all sizes) and GPT-3 175B used ~4M tokens.
DEFAULT_GLOBAL_BATCH_TOKENS = 4.0 * 2**20
# Units per optimizer step for non-language models (images, requests, audio seconds).
DEFAULT_GLOBAL_BATCH_UNITS = 8192.0
DEFAULT_GPUS_PER_NODE = 8
DEFAULT_HOP_LATENCY_S = 5e-6
TENSOR_PARALLEL_DEGREES: tuple[int, ...] = (1, 2, 4, 8)


class LayoutInfeasible(ValueError):
    """A parallel layout that cannot run the requested global batch (or any layout, for automatic choice)."""


def inter_node_bandwidth_gb_s(accelerator_name: str) -> float:
    """Default per-GPU, per-direction bandwidth between nodes: one 400 Gb/s NIC per GPU (50 GB/s) for Hopper
    and later (Llama 3's and DeepSeek-V3's clusters), one 200 Gb/s HDR NIC (25 GB/s) otherwise (A100 DGX
    SuperPODs, Meta's RSC)."""
    name = accelerator_name.upper()
    if any(k in name for k in ("H100", "H200", "H800", "GH200", "B200", "B100", "GB200", "MI300")):
        return 50.0
    return 25.0


def intra_node_bandwidth_gb_s(interconnect_bandwidth_gb_s: float | None) -> float:
    """Per-direction GPU-to-GPU bandwidth inside a node: half the vendor's bidirectional figure (NVLink 3 on
    A100: 600 → 300 GB/s); 32 GB/s (PCIe Gen4 x16) when the part publishes none."""
    return (interconnect_bandwidth_gb_s or 64.0) / 2.0


@dataclass(frozen=True)
class ParallelismPlan:
    """How a training run is laid out.

    tensor (t) × pipeline (p) × data (d) parallel degrees; zero_stage shards optimizer state (1), also
    gradients (2), also weights (3) over the d replicas. global_batch_token_count: tokens per optimizer step
    (None: the run's default, DEFAULT_GLOBAL_BATCH_TOKENS for language models); micro_batch_size_count (b)
    sequences per micro-batch; the number of micro-batches per pipeline per step follows:
    m = global / (d · b · s), and a layout with d · b · s > global is infeasible (LayoutInfeasible names the
    numbers) — the global batch is never changed to fit the layout. micro_batch_count is used only when no
    global batch applies (the legacy weak-scaling form). Link bandwidths per GPU, per direction, GB/s: None
    means the accelerator's NVLink (half its bidirectional figure) and inter_node_bandwidth_gb_s() across
    nodes. backward_overlap_fraction: the share of data-parallel traffic that can hide behind the backward
    pass.
    """

    data_parallel_count: int = 1
    tensor_parallel_count: int = 1
    pipeline_parallel_count: int = 1
    zero_stage: int = 1
    micro_batch_count: int = 8
    micro_batch_size_count: int = 1
    gpus_per_node_count: int = DEFAULT_GPUS_PER_NODE
    intra_node_bandwidth_gb_s: float | None = None
    inter_node_bandwidth_gb_s: float | None = None
    hop_latency_s: float = DEFAULT_HOP_LATENCY_S
    gradient_compression_ratio: float = 1.0
    backward_overlap_fraction: float = DEFAULT_OVERLAP_FRACTION
    global_batch_token_count: float | None = None
    virtual_pipeline_stage_count: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "data_parallel_count",
            "tensor_parallel_count",
            "pipeline_parallel_count",
            "micro_batch_count",
            "micro_batch_size_count",
            "gpus_per_node_count",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.virtual_pipeline_stage_count is not None and self.virtual_pipeline_stage_count < 1:
            raise ValueError("virtual_pipeline_stage_count must be >= 1")
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError("zero_stage must be 0, 1, 2 or 3")
        if self.gradient_compression_ratio < 1.0:
            raise ValueError("gradient_compression_ratio must be >= 1 (1 = no compression)")
        if self.global_batch_token_count is not None and not self.global_batch_token_count > 0:
            raise ValueError("global_batch_token_count must be positive")
        if not 0.0 <= self.backward_overlap_fraction <= 1.0:
            raise ValueError("backward_overlap_fraction must be within [0, 1]")
        for name in ("intra_node_bandwidth_gb_s", "inter_node_bandwidth_gb_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive")

    @property
    def gpu_count(self) -> int:
        return self.data_parallel_count * self.tensor_parallel_count * self.pipeline_parallel_count

    @property
    def model_parallel_count(self) -> int:
        return self.tensor_parallel_count * self.pipeline_parallel_count

    def describe(self) -> str:
        return (
            f"TP {self.tensor_parallel_count} × PP {self.pipeline_parallel_count} × DP "
            f"{self.data_parallel_count}, ZeRO-{self.zero_stage}, micro-batch {self.micro_batch_size_count}"
            + (
                f", {self.virtual_pipeline_stage_count} virtual stages"
                if self.virtual_pipeline_stage_count
                else ""
            )
        )


@dataclass(frozen=True)
class ScalingEstimate:
    """Per optimizer step, seconds; scaling_efficiency = ideal_step_s / step_s."""

    ideal_step_s: float
    bubble_s: float
    allreduce_s: float
    exposed_allreduce_s: float
    tensor_parallel_comm_s: float
    pipeline_comm_s: float
    step_s: float
    scaling_efficiency: float
    data_parallel_link_gb_s: float
    tokens_per_step: float
    micro_batches_per_step: float


def step_core(
    *,
    active_parameter_count: Any,
    synced_parameter_count: Any,
    layer_count: Any,
    hidden_size: Any,
    sequence_length: Any,
    global_batch_tokens: Any,
    micro_batch_size: Any,
    tensor_parallel: Any,
    pipeline_parallel: Any,
    data_parallel: Any,
    zero_stage: Any,
    per_gpu_flops_per_s: Any,
    flops_per_parameter_token: Any,
    gradient_bytes_per_parameter: Any,
    activation_bytes_per_value: Any,
    full_recomputation: bool,
    gpus_per_node: Any,
    intra_gb_s: Any,
    inter_gb_s: Any,
    hop_latency_s: Any,
    overlap_fraction: Any,
    compression_ratio: Any = 1.0,
    virtual_stages: Any = None,
) -> dict[str, Any]:
    """Step time of layouts at a fixed global batch, elementwise over broadcast arrays.

    per_gpu_flops_per_s = peak × MFU (model FLOPs); synced_parameter_count: parameters whose gradients the
    replicas exchange (all of them, or LoRA's adapters). Returns ideal/bubble/dp/tp/pp seconds, step_s,
    efficiency, micro_batches (m) and batch_ok (m ≥ 1: the global batch holds one micro-batch per replica).
    """
    t, p, d = tensor_parallel, pipeline_parallel, data_parallel
    n = t * p * d
    b, s = micro_batch_size, sequence_length
    m = global_batch_tokens / (d * b * s)
    batch_ok = m >= 1.0 - 1e-9
    ideal = (
        flops_per_parameter_token * active_parameter_count * global_batch_tokens / (n * per_gpu_flops_per_s)
    )
    if virtual_stages is None:
        virtual_stages = default_virtual_stages(layer_count, p)
    bubble = ideal * (p - 1.0) / (virtual_stages * np.maximum(m, 1e-9))
    # Ranks are ordered tensor-innermost, then data, then pipeline (Megatron-LM's default).
    dp_link = np.where(t * d <= gpus_per_node, intra_gb_s, inter_gb_s)
    gradient_bytes = synced_parameter_count / (t * p) * gradient_bytes_per_parameter / compression_ratio
    volume = np.where(np.asarray(zero_stage) >= 3, 1.5, 1.0)
    dp_s = fx.ring_allreduce_s(gradient_bytes * volume, d, dp_link, hop_latency_s)
    backward = ideal * (flops_per_parameter_token - 2.0) / flops_per_parameter_token
    exposed = dp_s - np.minimum(overlap_fraction * dp_s, backward)
    message = b * s * hidden_size * activation_bytes_per_value
    tp_link = np.where(t <= gpus_per_node, intra_gb_s, inter_gb_s)
    collectives = 6.0 if full_recomputation else 4.0
    tp_s = (
        collectives
        * fx.ring_allreduce_s(message, t, tp_link, hop_latency_s)
        * layer_count
        / p
        * np.maximum(m, 1.0)
    )
    pp_link = np.where(n <= gpus_per_node, intra_gb_s, inter_gb_s)
    pp_s = np.where(
        p > 1,
        2.0 * virtual_stages * np.maximum(m, 1.0) * (message / t / (pp_link * 1e9) + hop_latency_s),
        0.0,
    )
    step = ideal + bubble + exposed + tp_s + pp_s
    return {
        "ideal_s": ideal,
        "bubble_s": bubble,
        "dp_s": dp_s,
        "exposed_dp_s": exposed,
        "tp_s": tp_s,
        "pp_s": pp_s,
        "step_s": step,
        "efficiency": ideal / step,
        "micro_batches": m,
        "batch_ok": batch_ok,
        "dp_link_gb_s": dp_link,
    }


def default_virtual_stages(layer_count: Any, pipeline_parallel: Any) -> Any:
    """Model chunks per GPU of the interleaved schedule: min(4, layers per stage), at least 1."""
    return np.maximum(1.0, np.minimum(4.0, np.asarray(layer_count, dtype=np.float64) / pipeline_parallel))


def tokens_per_sequence(sequence_length: int | None, workload: str) -> float:
    """Tokens (units) per sample: the model's sequence length, 2048 for a language model without one, 1 for
    a non-language model (an image, a request)."""
    if sequence_length:
        return float(sequence_length)
    return 2048.0 if workload == "language" else 1.0


def batch_message(layout: ParallelismPlan, sequence_tokens: float, global_tokens: float) -> str:
    """Why a layout cannot run the global batch, with the numbers."""
    per_step = layout.data_parallel_count * layout.micro_batch_size_count * sequence_tokens
    return (
        f"data-parallel {layout.data_parallel_count:,} × micro-batch {layout.micro_batch_size_count:,} × "
        f"sequence {sequence_tokens:,.0f} = {per_step:,.0f} tokens per step exceeds the global batch of "
        f"{global_tokens:,.0f} tokens: use fewer data-parallel replicas (more tensor or pipeline "
        f"parallelism, or fewer GPUs) or a larger global batch"
    )


def candidate_layouts(
    gpu_count: int,
    *,
    layer_count: int | None,
    attention_head_count: int | None,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    tensor_degrees: Sequence[int] = TENSOR_PARALLEL_DEGREES,
) -> list[tuple[int, int, int]]:
    """(t, p, d) with t·p·d = gpu_count: t a power of two within one node dividing the head count, p any
    divisor up to the layer count (1 without layers), d the rest."""
    out: list[tuple[int, int, int]] = []
    for t in tensor_degrees:
        if t > gpus_per_node or gpu_count % t:
            continue
        if t > 1 and (not layer_count or (attention_head_count and attention_head_count % t)):
            continue
        rest = gpu_count // t
        max_p = min(rest, layer_count or 1)
        for p in range(1, max_p + 1):
            if rest % p == 0:
                out.append((t, p, rest // p))
    return out


def scaling_estimate(
    plan: ParallelismPlan,
    *,
    parameter_count: float,
    active_parameter_count: float,
    sequence_length: float,
    hidden_size: float | None,
    layer_count: float | None,
    per_gpu_flops_per_s: float,
    gradient_bytes_per_parameter: float = 2.0,
    activation_bytes_per_value: float = 2.0,
    flops_per_parameter_token: float = 6.0,
    synced_parameter_count: float | None = None,
    full_recomputation: bool = False,
    intra_node_bandwidth_gb_s: float | None = None,
    inter_node_bandwidth_gb_s: float | None = None,
) -> ScalingEstimate:
    """Step time and scaling efficiency of one layout (per_gpu_flops_per_s = peak × MFU, model FLOPs).

    Without a global batch on the plan, the step holds micro_batch_count micro-batches per replica (weak
    scaling). Raises LayoutInfeasible when the global batch cannot give each replica one micro-batch."""
    s = float(sequence_length)
    global_tokens = plan.global_batch_token_count
    if global_tokens is None:
        global_tokens = plan.data_parallel_count * plan.micro_batch_count * plan.micro_batch_size_count * s
    intra = plan.intra_node_bandwidth_gb_s or intra_node_bandwidth_gb_s or 300.0
    inter = plan.inter_node_bandwidth_gb_s or inter_node_bandwidth_gb_s or 25.0
    r = step_core(
        active_parameter_count=active_parameter_count,
        synced_parameter_count=parameter_count if synced_parameter_count is None else synced_parameter_count,
        layer_count=float(layer_count or 0.0),
        hidden_size=float(hidden_size or 0.0),
        sequence_length=s,
        global_batch_tokens=float(global_tokens),
        micro_batch_size=float(plan.micro_batch_size_count),
        tensor_parallel=float(plan.tensor_parallel_count),
        pipeline_parallel=float(plan.pipeline_parallel_count),
        data_parallel=float(plan.data_parallel_count),
        zero_stage=plan.zero_stage,
        per_gpu_flops_per_s=per_gpu_flops_per_s,
        flops_per_parameter_token=flops_per_parameter_token,
        gradient_bytes_per_parameter=gradient_bytes_per_parameter,
        activation_bytes_per_value=activation_bytes_per_value,
        full_recomputation=full_recomputation,
        gpus_per_node=float(plan.gpus_per_node_count),
        intra_gb_s=intra,
        inter_gb_s=inter,
        hop_latency_s=plan.hop_latency_s,
        overlap_fraction=plan.backward_overlap_fraction,
        compression_ratio=plan.gradient_compression_ratio,
        virtual_stages=plan.virtual_pipeline_stage_count,
    )
    if not bool(r["batch_ok"]):
        raise LayoutInfeasible(batch_message(plan, s, float(global_tokens)))
    return ScalingEstimate(
        ideal_step_s=float(r["ideal_s"]),
        bubble_s=float(r["bubble_s"]),
        allreduce_s=float(r["dp_s"]),
        exposed_allreduce_s=float(r["exposed_dp_s"]),
        tensor_parallel_comm_s=float(r["tp_s"]),
        pipeline_comm_s=float(r["pp_s"]),
        step_s=float(r["step_s"]),
        scaling_efficiency=float(r["efficiency"]),
        data_parallel_link_gb_s=float(r["dp_link_gb_s"]),
        tokens_per_step=float(global_tokens),
        micro_batches_per_step=float(r["micro_batches"]),
    )


def node_count(gpu_count: int, gpus_per_node: int = DEFAULT_GPUS_PER_NODE) -> int:
    return math.ceil(gpu_count / gpus_per_node)
