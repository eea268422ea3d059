"""Training estimate: FLOPs → GPU-hours → wall-clock, cost, energy, CO2, memory per GPU (COST-MODEL §1-7)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.engine import formulas as fx
from app.engine.architecture import ModelSpec
from app.engine.hardware import HALF_PRECISIONS, AcceleratorSpec
from app.engine.parallelism import ParallelismPlan, ScalingEstimate, scaling_estimate

RECOMPUTATION_MODES: tuple[str, ...] = ("none", "selective", "full")
TRAINING_PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8")

# Epoch AI's defaults when the utilisation of a run is unknown.
DEFAULT_MFU_LANGUAGE = 0.30
DEFAULT_MFU_OTHER = 0.40
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

    precision: the precision the matrix multiplies run in. half_precision_fraction: for bf16/fp16/fp8, the
    fraction f of operations at that peak, the rest at the fp32 peak (mixed-precision lever); None means all
    counted FLOPs run at `precision` (the fp32 remainder is inside MFU). Give mfu_fraction *or*
    achieved_tflops_per_gpu (which counts hardware FLOPs, recomputation included, as Megatron-LM reports).
    parallelism: None means the MFU is the realised end-to-end figure (as published MFUs are) and states are
    fully sharded over all GPUs (ZeRO-3/FSDP); with a plan, MFU is compute-only and communication and the
    pipeline bubble are modelled on top.
    """

    model: ModelSpec
    training_tokens: float
    accelerator: AcceleratorSpec
    gpu_count: int
    precision: str = "bf16"
    mfu_fraction: float | None = None
    achieved_tflops_per_gpu: float | None = None
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

    def __post_init__(self) -> None:
        if self.precision not in TRAINING_PRECISIONS:
            raise ValueError(f"precision must be one of {TRAINING_PRECISIONS}, not {self.precision!r}")
        if self.activation_recomputation not in RECOMPUTATION_MODES:
            raise ValueError(f"activation_recomputation must be one of {RECOMPUTATION_MODES}")
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

    @property
    def memory_gb_per_gpu(self) -> float:
        return self.memory.total_gb


def effective_peak_tflops(
    accelerator: AcceleratorSpec, precision: str, half_precision_fraction: float | None
) -> float:
    """Peak of `precision`, mixed with the fp32 peak for a fraction 1−f of operations (COST-MODEL §5)."""
    peak = accelerator.peak_tflops_for(precision)
    if precision in ("fp32", "tf32") or half_precision_fraction is None or half_precision_fraction >= 1.0:
        return peak
    return float(
        fx.mixed_precision_peak_tflops(peak, accelerator.peak_tflops_for("fp32"), half_precision_fraction)
    )


def training_memory(plan: TrainingPlan) -> TrainingMemory:
    """Memory per GPU: weights, gradients, optimizer (sharded "
    "as the plan says) and Korthikanti activations."""
    model = plan.model
    n = plan.gpu_count
    par = plan.parallelism
    tp = par.tensor_parallel_count if par else 1
    pp = par.pipeline_parallel_count if par else 1
    dp = par.data_parallel_count if par else n
    zero = par.zero_stage if par else 3
    b = par.micro_batch_size_count if par else plan.micro_batch_size_count
    wb, gb, ob = state_bytes_per_parameter(plan.precision)
    trainable = plan.trainable_parameter_count
    if trainable is None:
        weights, grads, optim = fx.sharded_state_bytes(model.parameter_count, wb, gb, ob, tp * pp, dp, zero)
    else:
        # Frozen base in 16-bit plus adapters; gradients and optimizer state exist for adapters only.
        frozen, _, _ = fx.sharded_state_bytes(model.parameter_count, 2.0, 0.0, 0.0, tp * pp, dp, zero)
        weights, grads, optim = fx.sharded_state_bytes(trainable, wb, gb, ob, tp * pp, dp, zero)
        weights = weights + frozen
    activations = 0.0
    if model.layer_count and model.hidden_size and model.attention_head_count and model.sequence_length:
        per_layer = fx.activation_bytes_per_layer(
            model.sequence_length,
            b,
            model.hidden_size,
            model.attention_head_count,
            plan.activation_recomputation,
        )
        # 1F1B: the first stage keeps p micro-batches of L/p layers = L layers' worth; tensor + sequence
        # parallelism split them t ways. Korthikanti's constants are for 16-bit activations.
        scale = 2.0 if plan.precision in ("fp32", "tf32") else 1.0
        activations = float(per_layer) * model.layer_count / tp * scale
    usable = plan.memory_usable_fraction or DEFAULT_MEMORY_USABLE_FRACTION
    return TrainingMemory(
        weights_gb=float(weights) / 1e9,
        gradients_gb=float(grads) / 1e9,
        optimizer_gb=float(optim) / 1e9,
        activations_gb=activations / 1e9,
        available_gb=plan.accelerator.memory_gb * usable,
    )


def minimum_gpu_count(plan: TrainingPlan) -> int | None:
    """Fewest GPUs whose memory holds the model states fully sharded (ZeRO-3) next to the plan's per-GPU
    activations, rounded up to a multiple of tensor × pipeline degree. None if activations alone overflow."""
    wb, gb, ob = state_bytes_per_parameter(plan.precision)
    n = plan.model.parameter_count
    if plan.trainable_parameter_count is None:
        states_gb = n * (wb + gb + ob) / 1e9
    else:
        states_gb = (n * 2.0 + plan.trainable_parameter_count * (wb + gb + ob)) / 1e9
    memory = training_memory(plan)
    room = memory.available_gb - memory.activations_gb
    if room <= 0:
        return None
    model_parallel = plan.parallelism.model_parallel_count if plan.parallelism else 1
    count = max(1, math.ceil(states_gb / room))
    return int(math.ceil(count / model_parallel) * model_parallel)


def estimate_training(plan: TrainingPlan) -> TrainingEstimate:
    """Everything COST-MODEL §1-7 says about one training run. Sources in formulas.py."""
    model, acc = plan.model, plan.accelerator
    assumptions: list[str] = []
    n_active = model.active_parameters
    # Forward FLOPs per unit are 2·N_active for language models, so 6·N·D = 3 × forward × D; a vision or
    # speech model uses its own forward FLOPs per unit (backward ≈ 2× forward).
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
            f"all counted FLOPs run at the {plan.precision} peak ({peak:g} TFLOP/s); fp32 "
            "remainders are inside MFU"
        )

    if plan.achieved_tflops_per_gpu is not None:
        ideal_gpu_hours = float(fx.gpu_hours_from_achieved(hardware_flops, plan.achieved_tflops_per_gpu))
        mfu = model_flops / (ideal_gpu_hours * fx.SECONDS_PER_HOUR * peak * fx.TERA)
        assumptions.append(
            "achieved TFLOP/s per GPU counts hardware FLOPs, recomputation included (Megatron-LM)"
        )
    else:
        if plan.mfu_fraction is None:
            mfu = DEFAULT_MFU_LANGUAGE if model.workload == "language" else DEFAULT_MFU_OTHER
            assumptions.append(
                f"MFU {mfu:.2f} (Epoch AI default for {'language' if mfu == 0.3 else 'other'} models)"
            )
        else:
            mfu = plan.mfu_fraction
        ideal_gpu_hours = float(fx.gpu_hours_from_mfu(model_flops, peak, mfu))
    achieved = hardware_flops / (ideal_gpu_hours * fx.SECONDS_PER_HOUR) / fx.TERA

    scaling: ScalingEstimate | None = None
    efficiency = 1.0
    if plan.parallelism is not None:
        wb, gb, _ = state_bytes_per_parameter(plan.precision)
        scaling = scaling_estimate(
            plan.parallelism,
            parameter_count=model.parameter_count,
            active_parameter_count=n_active,
            sequence_length=model.sequence_length or 2048,
            hidden_size=model.hidden_size,
            layer_count=model.layer_count,
            per_gpu_flops_per_s=peak * fx.TERA * mfu,
            gradient_bytes_per_parameter=gb,
            activation_bytes_per_value=wb,
            flops_per_parameter_token=plan.flops_per_parameter_token,
        )
        efficiency = scaling.scaling_efficiency
        assumptions.append(
            "MFU read as compute efficiency; communication and pipeline bubble modelled on top"
        )
        if not model.sequence_length:
            assumptions.append("sequence length 2048 for the step model (model has none)")
    else:
        assumptions.append(
            "MFU taken as end-to-end (published MFUs include communication): scaling efficiency 1"
        )
    gpu_hours = ideal_gpu_hours / efficiency
    days = float(fx.wall_clock_days(ideal_gpu_hours, plan.gpu_count, efficiency))

    cost = None
    if plan.price_usd_per_gpu_hour is not None:
        cost = float(fx.cost_usd(gpu_hours, plan.price_usd_per_gpu_hour))
    else:
        assumptions.append("no price per GPU-hour given: cost not computed")

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

    memory = training_memory(plan)
    if plan.parallelism is None:
        assumptions.append(
            f"model states fully sharded over {plan.gpu_count} GPUs (ZeRO-3/FSDP), no tensor "
            f"parallelism, micro-batch {plan.micro_batch_size_count}"
        )
    if plan.memory_usable_fraction is None:
        assumptions.append(
            f"{DEFAULT_MEMORY_USABLE_FRACTION:.0%} of GPU memory usable (CUDA context, fragmentation)"
        )
    assumptions.append(
        "activations per Korthikanti et al. 2022 with tensor+sequence parallelism; logits and "
        "embedding activations not counted"
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
    )


def distributed_tradeoff(plan: TrainingPlan, layouts: Sequence[ParallelismPlan]) -> list[TrainingEstimate]:
    """The same run under each parallel layout: wall-clock falls with more GPUs while GPU-hours (and cost)
    rise by 1 / scaling efficiency — the distributed lever's trade-off, one estimate per layout."""
    return [
        estimate_training(replace(plan, gpu_count=layout.gpu_count, parallelism=layout)) for layout in layouts
    ]
