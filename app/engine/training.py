"""Training estimate: FLOPs → GPU-hours → wall-clock, cost, energy, CO2, memory per GPU, on a parallel layout.

Every estimate runs on a layout (tensor × pipeline × data parallel, ZeRO stage): the one given, or the
fastest one that fits and keeps the global batch (choose_layout). MFU is the compute efficiency of the GPUs
(default: the median of published runs, published_runs.py); communication and the pipeline bubble
(parallelism.py) come on top, so the end-to-end MFU is MFU × scaling efficiency and never free with scale.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import numpy as np

from app.engine import formulas as fx
from app.engine.architecture import ModelSpec
from app.engine.hardware import HALF_PRECISIONS, AcceleratorSpec
from app.engine.parallelism import (
    DEFAULT_GLOBAL_BATCH_TOKENS,
    DEFAULT_GLOBAL_BATCH_UNITS,
    LayoutInfeasible,
    ParallelismPlan,
    ScalingEstimate,
    batch_message,
    candidate_layouts,
    inter_node_bandwidth_gb_s,
    intra_node_bandwidth_gb_s,
    scaling_estimate,
    step_core,
    tokens_per_sequence,
)
from app.engine.published_runs import (
    PUBLISHED_RUNS,
    MfuDefault,
    PublishedRun,
    accelerator_generation,
    mfu_default,
    size_class,
)

Recomputation = Literal["none", "selective", "full"]
RECOMPUTATION_MODES: tuple[str, ...] = get_args(Recomputation)
TrainingPrecision = Literal["fp32", "tf32", "bf16", "fp16", "fp8"]
TRAINING_PRECISIONS: tuple[str, ...] = get_args(TrainingPrecision)

# Language models: the median of published runs (published_runs.mfu_default). Other workloads: Epoch AI's
# default when the utilisation of a run is unknown.
DEFAULT_MFU_OTHER = 0.40
# What an achieved TFLOP/s per GPU counts: model FLOPs (6·N·D per second), hardware FLOPs with the plan's
# recomputation, or hardware FLOPs with full recomputation (8·N·D), as Megatron-LM reports (Narayanan et
# al. 2021 count the recomputed forward pass).
ACHIEVED_FLOPS_BASES: tuple[str, ...] = ("model", "hardware", "megatron")
ACHIEVED_BASIS_FACTOR_MEGATRON = 8.0 / 6.0
# A given MFU is end to end (as published: the run's communication included) or compute only (this engine's
# communication model comes on top).
MFU_BASES: tuple[str, ...] = ("end_to_end", "compute")
DEFAULT_PUE = 1.1
DEFAULT_GRID_KG_CO2_PER_KWH = 0.4
DEFAULT_POWER_UTILIZATION = 1.0
DEFAULT_MEMORY_USABLE_FRACTION = 0.9


def state_bytes_per_parameter(precision: str) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes per parameter with Adam.

    Mixed precision (bf16/fp16/fp8 matmuls): 2 + 2 + 12 (fp32 master copy + two moments) = 16
    (Rajbhandari et al. 2020). FP8 training keeps 16-bit weights next to its fp8 casts, so it is counted
    the same. Full precision (fp32/tf32): 4 + 4 + 8 (two fp32 moments, no separate master copy) = 16.
    """
    if precision in ("fp32", "tf32"):
        return 4.0, 4.0, 8.0
    return 2.0, 2.0, 12.0


@dataclass(frozen=True)
class TrainingPlan:
    """A pre-training (or fine-tuning) run.

    precision: the precision the matrix multiplies run in. half_precision_fraction f: the fraction of
    operations at that peak; the rest run one step up (bf16/fp16 → fp32, fp8 → bf16, as Transformer Engine
    keeps non-GEMM work in 16-bit); None means all counted FLOPs run at `precision`. Give mfu_fraction
    (default: published runs' median compute MFU) *or* achieved_tflops_per_gpu with achieved_flops_basis
    ("model", "hardware" = with this plan's recomputation, "megatron" = 8·N·D as Megatron-LM reports).
    mfu_basis: a given MFU is "end_to_end" (as published; the compute MFU is solved from it on the layout)
    or "compute" (communication and bubble come on top). The default MFU is a compute MFU calibrated on the
    published runs.
    parallelism: the layout; None chooses one (choose_layout). global_batch_token_count: tokens (units) per
    optimizer step when the layout does not set one (default 4M tokens / 8,192 units).
    """

    model: ModelSpec
    training_tokens: float
    accelerator: AcceleratorSpec
    gpu_count: int
    precision: str = "bf16"
    mfu_fraction: float | None = None
    achieved_tflops_per_gpu: float | None = None
    achieved_flops_basis: str = "megatron"
    mfu_basis: str = "end_to_end"
    activation_recomputation: str = "selective"
    price_usd_per_gpu_hour: float | None = None
    pue: float | None = None
    grid_kg_co2_per_kwh: float | None = None
    power_utilization_fraction: float | None = None
    half_precision_fraction: float | None = None
    parallelism: ParallelismPlan | None = None
    micro_batch_size_count: int = 1
    memory_usable_fraction: float | None = None
    flops_per_parameter_token: float = 6.0
    trainable_parameter_count: float | None = None
    global_batch_token_count: float | None = None
    gpus_per_node_count: int = 8
    inter_node_bandwidth_gb_s: float | None = None
    efficiency_factor: float | None = None

    def __post_init__(self) -> None:
        if self.precision not in TRAINING_PRECISIONS:
            raise ValueError(f"precision must be one of {TRAINING_PRECISIONS}, not {self.precision!r}")
        if self.activation_recomputation not in RECOMPUTATION_MODES:
            raise ValueError(f"activation_recomputation must be one of {RECOMPUTATION_MODES}")
        if self.mfu_basis not in MFU_BASES:
            raise ValueError(f"mfu_basis must be one of {MFU_BASES}")
        if self.achieved_flops_basis not in ACHIEVED_FLOPS_BASES:
            raise ValueError(f"achieved_flops_basis must be one of {ACHIEVED_FLOPS_BASES}")
        if self.gpu_count < 1:
            raise ValueError("gpu_count must be >= 1")
        if not self.training_tokens > 0:
            raise ValueError("training_tokens must be positive")
        if self.mfu_fraction is not None and self.achieved_tflops_per_gpu is not None:
            raise ValueError("give mfu_fraction or achieved_tflops_per_gpu, not both")
        if self.mfu_fraction is not None and not 0.0 < self.mfu_fraction <= 1.0:
            raise ValueError("mfu_fraction must be within (0, 1]")
        if self.achieved_tflops_per_gpu is not None and not self.achieved_tflops_per_gpu > 0:
            raise ValueError("achieved_tflops_per_gpu must be positive")
        if self.half_precision_fraction is not None and not 0.0 <= self.half_precision_fraction <= 1.0:
            raise ValueError("half_precision_fraction must be within [0, 1]")
        if self.parallelism is not None and self.parallelism.gpu_count != self.gpu_count:
            raise ValueError(
                f"parallel degrees give {self.parallelism.gpu_count} GPUs but gpu_count is {self.gpu_count}"
            )
        if self.global_batch_token_count is not None and not self.global_batch_token_count > 0:
            raise ValueError("global_batch_token_count must be positive")
        if self.efficiency_factor is not None and not 0.0 < self.efficiency_factor <= 2.0:
            raise ValueError("efficiency_factor must be within (0, 2]")


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per GPU by part, in GB (1e9 bytes)."""

    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    activations_gb: float
    available_gb: float

    @property
    def total_gb(self) -> float:
        return self.weights_gb + self.gradients_gb + self.optimizer_gb + self.activations_gb


@dataclass(frozen=True)
class TrainingEstimate:
    model_flops: float
    hardware_flops: float
    effective_peak_tflops: float
    mfu_fraction: float
    end_to_end_mfu_fraction: float
    achieved_tflops_per_gpu: float
    ideal_gpu_hours: float
    gpu_hours: float
    wall_clock_days: float
    scaling_efficiency: float
    cost_usd: float | None
    energy_kwh: float | None
    co2_kg: float | None
    memory: TrainingMemory
    fits_in_memory: bool
    minimum_gpu_count: int | None
    memory_message: str
    scaling: ScalingEstimate | None
    assumptions: tuple[str, ...]
    layout: ParallelismPlan | None = None
    layout_chosen: bool = False
    mfu_source: str = ""
    gpu_hours_range: tuple[float, float] | None = None
    cost_usd_range: tuple[float, float] | None = None
    wall_clock_days_range: tuple[float, float] | None = None

    @property
    def memory_gb_per_gpu(self) -> float:
        return self.memory.total_gb


def _fallback_precision(precision: str) -> str:
    return "bf16" if precision == "fp8" else "fp32"


def effective_peak_tflops(
    accelerator: AcceleratorSpec, precision: str, half_precision_fraction: float | None
) -> float:
    """Peak of `precision` for a fraction f of operations, the next precision up for 1−f
    (docs/methodology/cost-model.md §5): bf16/fp16 mix with fp32, fp8 with bf16 (fp16 where the part has
    no bf16)."""
    peak = accelerator.peak_tflops_for(precision)
    if precision in ("fp32", "tf32") or half_precision_fraction is None or half_precision_fraction >= 1.0:
        return peak
    other = _fallback_precision(precision)
    if other == "bf16" and not accelerator.supports("bf16"):
        other = "fp16"
    return float(
        fx.mixed_precision_peak_tflops(peak, accelerator.peak_tflops_for(other), half_precision_fraction)
    )


def _activation_per_layer(plan: TrainingPlan, micro_batch: Any) -> Any:
    """Activation bytes of one layer per micro-batch (0 when the model has no transformer shape)."""
    model = plan.model
    if not (model.layer_count and model.hidden_size and model.attention_head_count and model.sequence_length):
        return 0.0
    ffn = model.ffn_hidden_size or 4.0 * model.hidden_size
    llama = model.mlp_activation == "swiglu"
    per_layer = fx.transformer_activation_bytes_per_layer(
        model.sequence_length,
        micro_batch,
        model.hidden_size,
        model.attention_head_count,
        plan.activation_recomputation,
        kv_head_ratio=model.kv_head_ratio,
        ffn_ratio=ffn / model.hidden_size,
        gated_mlp=llama,
        dropout=not llama,
    )
    return per_layer * (2.0 if plan.precision in ("fp32", "tf32") else 1.0)


def _memory_core(
    plan: TrainingPlan, t: Any, p: Any, d: Any, zero: Any, micro_batches: Any
) -> tuple[Any, Any, Any, Any]:
    """(weights, gradients, optimizer, activations) bytes per GPU, elementwise over layouts."""
    model = plan.model
    wb, gb, ob = state_bytes_per_parameter(plan.precision)
    trainable = plan.trainable_parameter_count
    zero_arr = np.asarray(zero)

    def shard(params: float, w: float, g: float, o: float) -> tuple[Any, Any, Any]:
        per = params / (t * p)
        weights = per * w / np.where(zero_arr >= 3, d, 1.0)
        grads = per * g / np.where(zero_arr >= 2, d, 1.0)
        optim = per * o / np.where(zero_arr >= 1, d, 1.0)
        return weights, grads, optim

    if trainable is None:
        weights, grads, optim = shard(model.parameter_count, wb, gb, ob)
    else:
        frozen, _, _ = shard(model.parameter_count, 2.0, 0.0, 0.0)
        weights, grads, optim = shard(trainable, wb, gb, ob)
        weights = weights + frozen
    per_layer = _activation_per_layer(
        plan,
        float(plan.parallelism.micro_batch_size_count if plan.parallelism else plan.micro_batch_size_count),
    )
    layers = float(model.layer_count or 0)
    # 1F1B: the first stage holds min(p, m) micro-batches of L/p layers; tensor + sequence parallelism split
    # them t ways.
    in_flight = np.minimum(p, np.maximum(np.ceil(micro_batches - 1e-9), 1.0))
    activations = per_layer * layers / p * in_flight / t
    return weights, grads, optim, activations


def global_batch_tokens(plan: TrainingPlan) -> float:
    if plan.parallelism is not None and plan.parallelism.global_batch_token_count is not None:
        return float(plan.parallelism.global_batch_token_count)
    if plan.global_batch_token_count is not None:
        return float(plan.global_batch_token_count)
    return DEFAULT_GLOBAL_BATCH_TOKENS if plan.model.workload == "language" else DEFAULT_GLOBAL_BATCH_UNITS


def _links(plan: TrainingPlan, layout: ParallelismPlan | None) -> tuple[float, float]:
    intra = (layout.intra_node_bandwidth_gb_s if layout else None) or intra_node_bandwidth_gb_s(
        plan.accelerator.interconnect_bandwidth_gb_s
    )
    inter = (
        (layout.inter_node_bandwidth_gb_s if layout else None)
        or plan.inter_node_bandwidth_gb_s
        or inter_node_bandwidth_gb_s(plan.accelerator.name)
    )
    return intra, inter


def _evaluate(
    plan: TrainingPlan,
    t: Any,
    p: Any,
    d: Any,
    zero: Any,
    per_gpu_flops: float,
    layout: ParallelismPlan | None,
) -> dict[str, Any]:
    """Step model and memory of layouts (arrays), with the plan's model, precision and links."""
    model = plan.model
    wb, gb, _ = state_bytes_per_parameter(plan.precision)
    seq = tokens_per_sequence(model.sequence_length, model.workload)
    intra, inter = _links(plan, layout)
    b = layout.micro_batch_size_count if layout else plan.micro_batch_size_count
    r = step_core(
        active_parameter_count=model.active_parameters,
        synced_parameter_count=plan.trainable_parameter_count or model.parameter_count,
        layer_count=float(model.layer_count or 0),
        hidden_size=float(model.hidden_size or 0),
        sequence_length=seq,
        global_batch_tokens=global_batch_tokens(plan),
        micro_batch_size=float(b),
        tensor_parallel=t,
        pipeline_parallel=p,
        data_parallel=d,
        zero_stage=zero,
        per_gpu_flops_per_s=per_gpu_flops,
        flops_per_parameter_token=plan.flops_per_parameter_token,
        gradient_bytes_per_parameter=gb,
        activation_bytes_per_value=wb,
        full_recomputation=plan.activation_recomputation == "full",
        gpus_per_node=float(layout.gpus_per_node_count if layout else plan.gpus_per_node_count),
        intra_gb_s=intra,
        inter_gb_s=inter,
        hop_latency_s=layout.hop_latency_s if layout else 5e-6,
        overlap_fraction=layout.backward_overlap_fraction if layout else 0.8,
        compression_ratio=layout.gradient_compression_ratio if layout else 1.0,
        virtual_stages=layout.virtual_pipeline_stage_count if layout else None,
    )
    weights, grads, optim, acts = _memory_core(plan, t, p, d, zero, r["micro_batches"])
    r["memory_bytes"] = (weights, grads, optim, acts)
    r["total_bytes"] = weights + grads + optim + acts
    r["intra_gb_s"], r["inter_gb_s"] = intra, inter
    return r


def available_gb(plan: TrainingPlan) -> float:
    return plan.accelerator.memory_gb * (plan.memory_usable_fraction or DEFAULT_MEMORY_USABLE_FRACTION)


def choose_layout(plan: TrainingPlan, per_gpu_flops: float = 1e14) -> tuple[ParallelismPlan, str]:
    """The fastest layout of plan.gpu_count GPUs that fits in memory and keeps the global batch: tensor
    parallel within a node (1, 2, 4, 8), pipeline parallel over any divisor up to the layer count, data
    parallel across the rest, ZeRO-1 (distributed optimizer) or ZeRO-3 (fully sharded). With no layout that
    fits, the one needing the least memory (the estimate then says it does not fit). Raises LayoutInfeasible
    when no layout can keep the global batch. Returns (layout, why)."""
    model = plan.model
    triples = candidate_layouts(
        plan.gpu_count,
        layer_count=model.layer_count if model.hidden_size else None,
        attention_head_count=model.attention_head_count,
        gpus_per_node=plan.gpus_per_node_count,
    )
    arr = np.array(triples, dtype=np.float64)
    t = np.repeat(arr[:, 0], 2)
    p = np.repeat(arr[:, 1], 2)
    d = np.repeat(arr[:, 2], 2)
    zero = np.tile(np.array([1.0, 3.0]), len(triples))
    zero = np.where(d > 1, zero, 0.0)
    r = _evaluate(plan, t, p, d, zero, per_gpu_flops, None)
    ok = np.asarray(r["batch_ok"], dtype=bool) & np.ones_like(t, dtype=bool)
    seq = tokens_per_sequence(model.sequence_length, model.workload)
    gbt = global_batch_tokens(plan)
    if not ok.any():
        most = int(gbt // (plan.micro_batch_size_count * seq))
        raise LayoutInfeasible(
            f"no layout of {plan.gpu_count:,} GPUs keeps the global batch of {gbt:,.0f} tokens: it holds "
            f"{most:,} micro-batches of {plan.micro_batch_size_count} × {seq:,.0f} tokens, so at most "
            f"{max(most, 0):,} data-parallel replicas, and tensor (≤ {plan.gpus_per_node_count}) × pipeline "
            f"(≤ {model.layer_count or 1} layers) parallelism cannot absorb the rest: use fewer GPUs or a "
            "larger "
            "global batch"
        )
    fits = ok & (r["total_bytes"] <= available_gb(plan) * 1e9)
    if fits.any():
        i = int(np.flatnonzero(fits)[np.argmin(np.asarray(r["step_s"])[fits])])
        why = "the fastest layout that fits and keeps the global batch"
    else:
        i = int(np.flatnonzero(ok)[np.argmin(np.asarray(r["total_bytes"])[ok])])
        why = "no layout fits in memory: the one needing the least"
    layout = ParallelismPlan(
        data_parallel_count=int(d[i]),
        tensor_parallel_count=int(t[i]),
        pipeline_parallel_count=int(p[i]),
        zero_stage=int(zero[i]),
        micro_batch_size_count=plan.micro_batch_size_count,
        gpus_per_node_count=plan.gpus_per_node_count,
        inter_node_bandwidth_gb_s=plan.inter_node_bandwidth_gb_s,
        global_batch_token_count=gbt,
    )
    return layout, why


def training_memory(plan: TrainingPlan) -> TrainingMemory:
    """Memory per GPU on the plan's layout (chosen when not given): weights, gradients, optimizer (sharded as
    the layout says) and activations (Korthikanti et al. 2022, Llama-style blocks for SwiGLU models)."""
    layout = plan.parallelism or choose_layout(plan)[0]
    r = _evaluate(
        plan,
        float(layout.tensor_parallel_count),
        float(layout.pipeline_parallel_count),
        float(layout.data_parallel_count),
        layout.zero_stage,
        1e14,
        layout,
    )
    w, g, o, a = (float(x) for x in r["memory_bytes"])
    return TrainingMemory(w / 1e9, g / 1e9, o / 1e9, a / 1e9, available_gb(plan))


def minimum_gpu_count(plan: TrainingPlan) -> int | None:
    """A lower bound on the GPUs that can hold the run: model states fully sharded (ZeRO-3) next to the
    activations of one micro-batch per layer split 8 ways by tensor parallelism (the most a node gives),
    rounded up to whole nodes beyond one. None if even those activations overflow a GPU."""
    wb, gb, ob = state_bytes_per_parameter(plan.precision)
    n = plan.model.parameter_count
    if plan.trainable_parameter_count is None:
        states_gb = n * (wb + gb + ob) / 1e9
    else:
        states_gb = (n * 2.0 + plan.trainable_parameter_count * (wb + gb + ob)) / 1e9
    per_layer = _activation_per_layer(plan, float(plan.micro_batch_size_count))
    t = min(8, plan.gpus_per_node_count)
    heads = plan.model.attention_head_count
    while t > 1 and heads and heads % t:
        t //= 2
    acts_gb = float(per_layer) * (plan.model.layer_count or 0) / t / 1e9
    room = available_gb(plan) - acts_gb
    if room <= 0:
        return None
    count = max(1, math.ceil(states_gb / room))
    if count > plan.gpus_per_node_count:
        count = math.ceil(count / plan.gpus_per_node_count) * plan.gpus_per_node_count
    return int(count)


def published_run_plan(run: PublishedRun, **changes: Any) -> TrainingPlan:
    """The engine's plan of a published run: its model, tokens, GPUs, published layout and end-to-end MFU."""
    t, p, d = run.layout or (1, 1, run.gpu_count)
    layout = ParallelismPlan(
        tensor_parallel_count=t,
        pipeline_parallel_count=p,
        data_parallel_count=d,
        zero_stage=run.zero_stage if d > 1 else 0,
        gpus_per_node_count=run.gpus_per_node_count,
        intra_node_bandwidth_gb_s=run.intra_node_bandwidth_gb_s,
        inter_node_bandwidth_gb_s=run.inter_node_bandwidth_gb_s,
        global_batch_token_count=run.global_batch_tokens,
    )
    values: dict[str, Any] = dict(
        model=run.model,
        training_tokens=run.training_tokens,
        accelerator=run.accelerator,
        gpu_count=run.gpu_count,
        precision="bf16",
        mfu_fraction=run.mfu,
        mfu_basis="end_to_end",
        parallelism=layout,
        activation_recomputation=run.activation_recomputation,
        gpus_per_node_count=run.gpus_per_node_count,
    )
    values.update(changes)
    return TrainingPlan(**values)


@functools.cache
def published_compute_mfus() -> dict[str, float]:
    """Each published run's compute MFU: its end-to-end MFU with this engine's communication and bubble for
    its layout taken out."""
    return {run.name: estimate_training(published_run_plan(run)).mfu_fraction for run in PUBLISHED_RUNS}


def _mfu_default(plan: TrainingPlan) -> MfuDefault | None:
    if plan.model.workload != "language":
        return None
    return _cached_mfu_default(
        accelerator_generation(plan.accelerator.name), size_class(plan.model.active_parameters)
    )


@functools.cache
def _cached_mfu_default(generation: str, cls: str) -> MfuDefault:
    """mfu_default depends on the accelerator only through its generation and on the model only through its
    size class: one computation per pair."""
    probe = {"under 20B": 1e9, "20B-100B": 50e9, "over 100B": 500e9}[cls]
    name = {
        "ampere": "A100",
        "hopper": "H100",
        "tpu": "TPU",
        "volta": "V100",
        "blackwell": "B200",
        "ada": "L40",
        "cdna3": "MI300",
    }.get(generation, "other")
    return mfu_default(name, probe, values=published_compute_mfus())


def estimate_training(plan: TrainingPlan) -> TrainingEstimate:
    """Everything docs/methodology/cost-model.md §1-7 says about one training run, on a parallel layout.
    Sources in formulas.py, parallelism.py and published_runs.py."""
    model, acc = plan.model, plan.accelerator
    assumptions: list[str] = []
    model_flops = float(
        fx.training_model_flops(
            model.forward_flops_per_unit / 2.0, plan.training_tokens, plan.flops_per_parameter_token
        )
    )
    factor = fx.recomputation_flops_factor(
        plan.activation_recomputation, model.sequence_length, model.hidden_size
    )
    hardware_flops = model_flops * factor
    if plan.activation_recomputation == "selective":
        assumptions.append(
            f"selective recomputation adds the attention-core forward: hardware FLOPs = {factor:.4f} x model "
            "FLOPs (Korthikanti et al. 2022)"
        )
    peak = effective_peak_tflops(acc, plan.precision, plan.half_precision_fraction)
    if plan.precision in HALF_PRECISIONS | {"fp8"} and plan.half_precision_fraction is None:
        assumptions.append(
            f"all counted FLOPs run at the {plan.precision} peak ({peak:g} TFLOP/s); "
            f"{_fallback_precision(plan.precision)} remainders are inside MFU"
        )
    elif plan.half_precision_fraction is not None and plan.precision not in ("fp32", "tf32"):
        assumptions.append(
            f"{plan.half_precision_fraction:.0%} of operations at the {plan.precision} peak, the rest at "
            f"{_fallback_precision(plan.precision)}: effective peak {peak:,.1f} TFLOP/s"
        )

    default = None
    end_to_end_target: float | None = None
    mfu_source = "given"
    if plan.achieved_tflops_per_gpu is not None:
        basis = plan.achieved_flops_basis
        counted = {"model": 1.0, "hardware": factor, "megatron": ACHIEVED_BASIS_FACTOR_MEGATRON}[basis]
        model_tflops = plan.achieved_tflops_per_gpu / counted
        end_to_end_target = model_tflops / peak
        mfu_source = (
            f"from {plan.achieved_tflops_per_gpu:g} achieved TFLOP/s per GPU counting "
            + {
                "model": "model FLOPs (6·N·D)",
                "hardware": f"hardware FLOPs with {plan.activation_recomputation} recomputation "
                f"(×{factor:.4f})",
                "megatron": "hardware FLOPs with full recomputation, 8·N·D, as Megatron-LM reports (×4/3)",
            }[basis]
            + f" = {model_tflops:,.1f} model TFLOP/s per GPU, end to end"
        )
        assumptions.append(mfu_source)
    elif plan.mfu_fraction is not None:
        if plan.mfu_basis == "end_to_end":
            end_to_end_target = plan.mfu_fraction
            mfu_source = (
                f"given: end-to-end MFU {plan.mfu_fraction:.3f} (as published: communication included)"
            )
        else:
            mfu_source = f"given: compute MFU {plan.mfu_fraction:.3f} (communication modelled on top)"
        assumptions.append(mfu_source)
    mfu = end_to_end_target if end_to_end_target is not None else (plan.mfu_fraction or 0.0)
    if end_to_end_target is None and plan.mfu_fraction is None:
        default = _mfu_default(plan)
        if default is None:
            mfu = DEFAULT_MFU_OTHER
            mfu_source = f"compute MFU {mfu:.2f} (Epoch AI default for non-language models)"
        else:
            mfu = default.mfu
            mfu_source = default.source
        assumptions.append(mfu_source)
    if plan.efficiency_factor is not None:
        mfu = mfu * plan.efficiency_factor
        if end_to_end_target is not None:
            end_to_end_target = end_to_end_target * plan.efficiency_factor
        assumptions.append(f"MFU scaled by the calibration factor {plan.efficiency_factor:.3f}")
    if mfu > 1.0:
        raise ValueError(
            f"achieved_tflops_per_gpu: {plan.achieved_tflops_per_gpu or 0:g} TFLOP/s is above the "
            f"{plan.precision} peak of {acc.name} ({peak:g} TFLOP/s) once converted to model FLOPs"
            if plan.achieved_tflops_per_gpu is not None
            else f"MFU {mfu:.3f} is above 1"
        )

    layout_chosen = plan.parallelism is None
    if plan.parallelism is None:
        layout, why = choose_layout(plan, peak * fx.TERA * mfu)
        assumptions.append(f"layout chosen: {layout.describe()} ({why})")
    else:
        layout = plan.parallelism
    wb, gb, _ = state_bytes_per_parameter(plan.precision)
    gbt = global_batch_tokens(plan)
    layout = replace(layout, global_batch_token_count=gbt)
    intra, inter = _links(plan, layout)
    seq = tokens_per_sequence(model.sequence_length, model.workload)

    def scaled(compute_mfu: float) -> ScalingEstimate:
        return scaling_estimate(
            layout,
            parameter_count=model.parameter_count,
            active_parameter_count=model.active_parameters,
            sequence_length=seq,
            hidden_size=model.hidden_size,
            layer_count=model.layer_count,
            per_gpu_flops_per_s=peak * fx.TERA * compute_mfu,
            gradient_bytes_per_parameter=gb,
            activation_bytes_per_value=wb,
            flops_per_parameter_token=plan.flops_per_parameter_token,
            synced_parameter_count=plan.trainable_parameter_count,
            full_recomputation=plan.activation_recomputation == "full",
            intra_node_bandwidth_gb_s=intra,
            inter_node_bandwidth_gb_s=inter,
        )

    scaling = scaled(mfu)
    if end_to_end_target is not None:
        # An end-to-end MFU already holds this layout's communication: the compute MFU c solves
        # c × efficiency(c) = target (a few fixed-point steps; efficiency falls as c rises).
        for _ in range(12):
            previous, mfu = mfu, min(1.0, end_to_end_target / scaling.scaling_efficiency)
            scaling = scaled(mfu)
            if abs(mfu - previous) <= 1e-9 * mfu:
                break
        if mfu >= 1.0:
            assumptions.append(
                "the modelled communication cannot reach this end-to-end MFU: compute MFU capped at 1"
            )
    efficiency = scaling.scaling_efficiency
    assumptions.append(
        f"communication on {intra:g} GB/s within a node and {inter:g} GB/s per GPU across nodes, "
        f"{layout.backward_overlap_fraction:.0%} of the data-parallel traffic can overlap the backward pass; "
        f"{gbt:,.0f}-token global batch, {scaling.micro_batches_per_step:,.1f} micro-batches per step: "
        f"scaling efficiency {efficiency:.3f}"
    )
    if not model.sequence_length and model.workload == "language":
        assumptions.append("sequence length 2048 for the step model (model has none)")
    ideal_gpu_hours = float(fx.gpu_hours_from_mfu(model_flops, peak, mfu))
    gpu_hours = ideal_gpu_hours / efficiency
    days = float(fx.wall_clock_days(ideal_gpu_hours, plan.gpu_count, efficiency))
    achieved = hardware_flops / (gpu_hours * fx.SECONDS_PER_HOUR) / fx.TERA

    cost = None
    if plan.price_usd_per_gpu_hour is not None:
        cost = float(fx.cost_usd(gpu_hours, plan.price_usd_per_gpu_hour))
    else:
        assumptions.append("no price per GPU-hour given: cost not computed")
    hours_range = cost_range = days_range = None
    if default is not None and plan.efficiency_factor is None:
        hours_range = (gpu_hours * mfu / default.high_mfu, gpu_hours * mfu / default.low_mfu)
        days_range = (days * mfu / default.high_mfu, days * mfu / default.low_mfu)
        if plan.price_usd_per_gpu_hour is not None:
            cost_range = (
                hours_range[0] * plan.price_usd_per_gpu_hour,
                hours_range[1] * plan.price_usd_per_gpu_hour,
            )

    pue = plan.pue if plan.pue is not None else DEFAULT_PUE
    if plan.pue is None:
        assumptions.append(f"PUE {DEFAULT_PUE} (efficient hyperscale data centre)")
    util = plan.power_utilization_fraction
    if util is None:
        util = DEFAULT_POWER_UTILIZATION
        assumptions.append("GPUs draw their full board power while training (model-card convention)")
    grid = plan.grid_kg_co2_per_kwh
    if grid is None:
        grid = DEFAULT_GRID_KG_CO2_PER_KWH
        assumptions.append(
            f"grid {DEFAULT_GRID_KG_CO2_PER_KWH} kg CO2/kWh (about the US average; Llama 2's "
            "model card implies 0.41)"
        )
    energy = co2 = None
    if acc.board_power_w:
        energy = float(fx.energy_kwh(gpu_hours, acc.board_power_w, util, pue))
        co2 = energy * grid
    else:
        assumptions.append(f"{acc.name} has no published board power: energy and CO2 not computed")

    memory = training_memory(replace(plan, parallelism=layout))
    if plan.memory_usable_fraction is None:
        assumptions.append(
            f"{DEFAULT_MEMORY_USABLE_FRACTION:.0%} of GPU memory usable (CUDA context, fragmentation)"
        )
    assumptions.append(
        "activations per Korthikanti et al. 2022 with tensor+sequence parallelism"
        + (
            ", Llama-style blocks (SwiGLU MLP, grouped-query K/V, no dropout)"
            if model.mlp_activation == "swiglu"
            else ", GPT-style blocks (GELU MLP, dropout)"
        )
        + "; logits and embedding activations not counted"
    )
    fits = memory.total_gb <= memory.available_gb
    minimum = minimum_gpu_count(plan)
    if fits:
        message = f"fits: needs {memory.total_gb:,.1f} GB per GPU, has {memory.available_gb:,.1f} GB"
    else:
        message = (
            f"does not fit: needs {memory.total_gb:,.1f} GB per GPU, has {memory.available_gb:,.1f} GB"
            + (
                f"; at least {minimum:,} GPUs needed"
                if minimum
                else "; activations alone overflow: use tensor parallelism or full recomputation"
            )
        )
    return TrainingEstimate(
        model_flops=model_flops,
        hardware_flops=hardware_flops,
        effective_peak_tflops=peak,
        mfu_fraction=mfu,
        end_to_end_mfu_fraction=mfu * efficiency,
        achieved_tflops_per_gpu=achieved,
        ideal_gpu_hours=ideal_gpu_hours,
        gpu_hours=gpu_hours,
        wall_clock_days=days,
        scaling_efficiency=efficiency,
        cost_usd=cost,
        energy_kwh=energy,
        co2_kg=co2,
        memory=memory,
        fits_in_memory=fits,
        minimum_gpu_count=minimum,
        memory_message=message,
        scaling=scaling,
        assumptions=tuple(assumptions),
        layout=layout,
        layout_chosen=layout_chosen,
        mfu_source=mfu_source,
        gpu_hours_range=hours_range,
        cost_usd_range=cost_range,
        wall_clock_days_range=days_range,
    )


def distributed_tradeoff(plan: TrainingPlan, layouts: Sequence[ParallelismPlan]) -> list[TrainingEstimate]:
    """The same run under each parallel layout: wall-clock falls with more GPUs while GPU-hours (and cost)
    rise by 1 / scaling efficiency — the distributed lever's trade-off, one estimate per layout."""
    return [
        estimate_training(replace(plan, gpu_count=layout.gpu_count, parallelism=layout)) for layout in layouts
    ]


__all__ = [
    "LayoutInfeasible",
    "TrainingEstimate",
    "TrainingMemory",
    "TrainingPlan",
    "batch_message",
    "choose_layout",
    "distributed_tradeoff",
    "estimate_training",
    "minimum_gpu_count",
]
