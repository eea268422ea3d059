"""Vectorised sweeps: many training or serving plans at once, the Pareto frontier, the cheapest plan.

Plans are the Cartesian product of the axes; every quantity is one numpy expression over the broadcast grid
(no Python loop per plan), computed by the same functions the scalar estimates use (formulas.py,
serving.serving_core), so a sweep row and the scalar estimate of that plan agree (tests/engine/test_sweep.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.engine import formulas as fx
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec, bytes_per_value
from app.engine.parallelism import (
    DEFAULT_GPUS_PER_NODE,
    DEFAULT_OVERLAP_FRACTION,
    TENSOR_PARALLEL_DEGREES,
    inter_node_bandwidth_gb_s,
    intra_node_bandwidth_gb_s,
    step_core,
    tokens_per_sequence,
)
from app.engine.parallelism import DEFAULT_HOP_LATENCY_S as TRAINING_HOP_LATENCY_S
from app.engine.serving import (
    CONCURRENCY_CANDIDATES,
    DEFAULT_COMPUTE_EFFICIENCY,
    DEFAULT_HOP_LATENCY_S,
    DEFAULT_MAX_BATCHED_TOKEN_COUNT,
    DEFAULT_MEMORY_EFFICIENCY,
    DEFAULT_MEMORY_USABLE_FRACTION,
    DEFAULT_UTILIZATION,
    serving_core,
)
from app.engine.training import DEFAULT_MEMORY_USABLE_FRACTION as TRAINING_USABLE_FRACTION
from app.engine.training import (
    DEFAULT_MFU_OTHER,
    TrainingPlan,
    _activation_per_layer,
    _mfu_default,
    global_batch_tokens,
    state_bytes_per_parameter,
)

# Quality lost to serving precisions when the caller gives none: recorded as an assumption in the result.
# Typical published ranges for LLMs: FP8 and 8-bit weight-only ≲0.5 points, 4-bit weight-only 1-2 points.
DEFAULT_QUALITY_LOSS_POINTS: Mapping[str, float] = {
    "fp32": 0.0,
    "tf32": 0.0,
    "bf16": 0.0,
    "fp16": 0.0,
    "fp8": 0.2,
    "int8": 0.5,
    "int4": 1.5,
    "fp4": 2.0,
}


@dataclass(frozen=True)
class SweepTable:
    """Feasible plans sorted by cost (ascending). columns: name → 1-D array, one entry per plan.
    pareto: True for plans on the cost/time/quality-loss frontier. evaluated_count: plans in the grid."""

    columns: dict[str, NDArray[Any]]
    pareto: NDArray[np.bool_]
    evaluated_count: int
    cost_column: str
    time_column: str
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.pareto.shape[0])

    def row(self, index: int) -> dict[str, Any]:
        return {
            k: (v[index].item() if isinstance(v[index], np.generic) else v[index])
            for k, v in self.columns.items()
        }

    def frontier(self) -> list[dict[str, Any]]:
        return [self.row(int(i)) for i in np.flatnonzero(self.pareto)]


def lexicographic_order(
    cost: NDArray[Any], time: NDArray[Any], quality_loss: NDArray[Any]
) -> NDArray[np.intp]:
    """Indices sorting by cost, then time, then quality loss. One quicksort on cost; only the (usually few)
    plans that tie on cost are re-sorted on all three keys — several times faster than np.lexsort."""
    order = np.argsort(cost)
    c = cost[order]
    equal = c[1:] == c[:-1]
    if equal.any():
        tied = np.zeros(c.shape[0], dtype=bool)
        tied[1:] |= equal
        tied[:-1] |= equal
        positions = np.flatnonzero(tied)
        # Tie groups are contiguous and cost is the primary key, so the re-sorted subset drops back in place.
        sub = order[positions]
        order[positions] = sub[np.lexsort((quality_loss[sub], time[sub], cost[sub]))]
    return order


def _pareto_sorted(time: NDArray[Any], quality_loss: NDArray[Any]) -> NDArray[np.bool_]:
    """Frontier mask of plans already in lexicographic (cost, time, loss) order."""
    n = time.shape[0]
    dominated = np.zeros(n, dtype=bool)
    for level in np.unique(quality_loss):
        best = np.minimum.accumulate(np.where(quality_loss <= level, time, np.inf))
        earlier_best = np.empty(n)
        earlier_best[0] = np.inf
        earlier_best[1:] = best[:-1]
        dominated |= (quality_loss >= level) & (earlier_best <= time)
    return ~dominated


def pareto_mask(cost: NDArray[Any], time: NDArray[Any], quality_loss: NDArray[Any]) -> NDArray[np.bool_]:
    """True where no other plan is at least as good on cost, time and quality loss (minimising all three).

    Sort by cost; for each distinct quality-loss level q, a running minimum of time over the plans with loss
    ≤ q tells whether an earlier (cheaper) plan dominates a plan with loss ≥ q. O(n · levels); exact
    duplicates keep one representative.
    """
    if cost.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    order = lexicographic_order(cost, time, quality_loss)
    mask = np.empty(cost.shape[0], dtype=bool)
    mask[order] = _pareto_sorted(time[order], quality_loss[order])
    return mask


def _prices(
    prices_usd_per_gpu_hour: Any, accelerator_count: int, names: Sequence[str] | None
) -> NDArray[np.float64]:
    """(accelerators, pricing models) array; NaN where an accelerator has no quote for a pricing model."""
    prices = np.asarray(prices_usd_per_gpu_hour, dtype=np.float64)
    if prices.ndim == 1:
        prices = prices[:, None]
    if prices.shape[0] != accelerator_count:
        raise ValueError(f"prices need one row per accelerator ({accelerator_count}), got {prices.shape[0]}")
    if names is not None and len(names) != prices.shape[1]:
        raise ValueError(f"{len(names)} pricing model names for {prices.shape[1]} price columns")
    return prices


def _peaks(accelerators: Sequence[AcceleratorSpec], precisions: Sequence[str]) -> NDArray[np.float64]:
    """(A, P) dense peaks in TFLOP/s; NaN where unsupported (such plans drop out)."""
    return np.array(
        [[a.peak_tflops.get(p) or np.nan for p in precisions] for a in accelerators], dtype=np.float64
    )


def _finish(
    columns: dict[str, Any],
    valid: NDArray[np.bool_],
    cost: str,
    time: str,
    loss: str,
    evaluated: int,
    assumptions: list[str],
) -> SweepTable:
    """Keep the feasible plans, sorted by (cost, time, loss), each column gathered once from its broadcast
    shape (no full-grid copies)."""
    shape = valid.shape
    kept = np.flatnonzero(valid.ravel())
    coords = np.unravel_index(kept, shape)

    def gather(values: Any, index: tuple[NDArray[np.intp], ...]) -> NDArray[Any]:
        array = np.asarray(values)
        array = array.reshape((1,) * (len(shape) - array.ndim) + array.shape)
        # A length-1 axis broadcasts (index 0); any other length, even 0 (no plan on that axis), is indexed.
        picked = array[tuple(i if array.shape[d] != 1 else 0 for d, i in enumerate(index))]
        return picked if np.ndim(picked) else np.full(index[0].shape, picked)

    keys = {k: gather(columns[k], coords) for k in (cost, time, loss)}
    order = lexicographic_order(keys[cost], keys[time], keys[loss])
    coords = tuple(c[order] for c in coords)
    out = {k: (keys[k][order] if k in keys else gather(v, coords)) for k, v in columns.items()}
    return SweepTable(
        columns=out,
        pareto=_pareto_sorted(out[time], out[loss]),
        evaluated_count=evaluated,
        cost_column=cost,
        time_column=time,
        assumptions=tuple(assumptions),
    )


def sweep_training(
    model: ModelSpec,
    training_tokens: float,
    accelerators: Sequence[AcceleratorSpec],
    precisions: Sequence[str],
    gpu_counts: Sequence[int] | NDArray[Any],
    prices_usd_per_gpu_hour: Any,
    *,
    pricing_model_names: Sequence[str] | None = None,
    mfu_fraction: float | None = None,
    activation_recomputation: str = "selective",
    micro_batch_size_count: int = 1,
    quality_loss_points_by_precision: Mapping[str, float] | None = None,
    memory_usable_fraction: float = TRAINING_USABLE_FRACTION,
    tensor_parallel_counts: Sequence[int] = TENSOR_PARALLEL_DEGREES,
    pipeline_parallel_counts: Sequence[int] | None = None,
    global_batch_token_count: float | None = None,
    gpus_per_node_count: int = DEFAULT_GPUS_PER_NODE,
    overlap_fraction: float = DEFAULT_OVERLAP_FRACTION,
    best_layout_only: bool = True,
) -> SweepTable:
    """Accelerators × precisions × GPU counts × tensor-parallel × pipeline-parallel degrees × pricing models
    of one pre-training run.

    Every row is a parallel layout: tensor t (within a node, dividing the head count), pipeline p (default
    powers of two up to the layer count), data d = GPUs / (t·p) (whole), ZeRO-1 when the states fit, else
    ZeRO-3. The step model is parallelism.step_core (the one estimate_training uses) at a fixed global batch
    (default 4M tokens): a layout whose d × micro-batch × sequence exceeds it is infeasible and dropped, as
    are plans that do not fit, lack a price or use an unsupported precision. mfu_fraction is a compute MFU
    (default: published runs' calibrated median per accelerator generation and size class). best_layout_only
    keeps the fastest layout per (accelerator, precision, GPUs, pricing model). Time column: wall_clock_days.
    """
    assumptions: list[str] = []
    if not accelerators:
        raise ValueError("a training sweep needs at least one accelerator")
    probe = TrainingPlan(
        model=model,
        training_tokens=training_tokens,
        accelerator=accelerators[0],
        gpu_count=1,
        precision="bf16",
        activation_recomputation=activation_recomputation,
        micro_batch_size_count=micro_batch_size_count,
        global_batch_token_count=global_batch_token_count,
    )
    mfu_by_acc: list[float] = []
    for acc in accelerators:
        if mfu_fraction is not None:
            mfu_by_acc.append(mfu_fraction)
            continue
        default = _mfu_default(
            TrainingPlan(model=model, training_tokens=training_tokens, accelerator=acc, gpu_count=1)
        )
        mfu_by_acc.append(default.mfu if default else DEFAULT_MFU_OTHER)
    if mfu_fraction is None:
        assumptions.append(
            "compute MFU per accelerator: median of published runs for its generation and the model's size "
            "class ("
            + ", ".join(f"{a.name} {m:.3f}" for a, m in zip(accelerators, mfu_by_acc, strict=True))
            + ")"
        )
    losses = dict(quality_loss_points_by_precision or {})
    for p in precisions:
        if p not in losses:
            # Mixed-precision bf16/fp16 training is reported at parity with fp32; fp8 less settled.
            losses[p] = DEFAULT_QUALITY_LOSS_POINTS.get(p, 0.0)
            if losses[p]:
                assumptions.append(f"{p} training quality loss {losses[p]} points (assumed)")
    prices = _prices(prices_usd_per_gpu_hour, len(accelerators), pricing_model_names)
    gpu = np.asarray(gpu_counts, dtype=np.float64)
    layers = int(model.layer_count or 0) if model.hidden_size else 0
    heads = model.attention_head_count
    tps = [t for t in tensor_parallel_counts if t <= gpus_per_node_count]
    if not layers:
        tps = [1]
    if pipeline_parallel_counts is None:
        pipeline_parallel_counts = [p for p in (1, 2, 4, 8, 16, 32, 64) if p <= max(layers, 1)]
    pps = list(pipeline_parallel_counts)
    a_n, p_n, g_n, k_n = len(accelerators), len(precisions), gpu.shape[0], prices.shape[1]
    t_n, q_n = len(tps), len(pps)

    # The layouts (GPU count × tensor × pipeline) whose data-parallel degree is whole and keeps the global
    # batch depend on neither accelerator nor precision: keep only those V triples, then evaluate
    # (A, P, V) arrays — most of the grid is rejected here, cheaply.
    seq = tokens_per_sequence(model.sequence_length, model.workload)
    gbt = global_batch_tokens(probe)
    g3, t3, q3 = np.meshgrid(gpu, np.asarray(tps, float), np.asarray(pps, float), indexing="ij")
    d3 = g3 / (t3 * q3)
    shape_ok = (d3 >= 1.0) & (np.abs(d3 - np.round(d3)) < 1e-9) & (q3 <= max(layers, 1))
    if heads:
        shape_ok &= np.asarray([heads % x == 0 for x in tps])[None, :, None]
    d3 = np.maximum(np.round(d3), 1.0)
    batch_ok = gbt / (d3 * micro_batch_size_count * seq) >= 1.0 - 1e-9
    batch_dropped = int(np.count_nonzero(shape_ok & ~batch_ok))
    if batch_dropped:
        assumptions.append(
            f"{batch_dropped:,} layouts (GPU count × tensor × pipeline) dropped: data-parallel × micro-batch "
            f"{micro_batch_size_count} × sequence {seq:,.0f} exceeds the {gbt:,.0f}-token global batch"
        )
    keep = shape_ok & batch_ok
    gi = np.nonzero(keep)[0]  # C order: grouped by GPU count
    t = t3[keep][None, None, :]
    pp = q3[keep][None, None, :]
    d = d3[keep][None, None, :]
    v_n = int(t.shape[2])
    evaluated = a_n * p_n * g_n * t_n * q_n * k_n

    peak = _peaks(accelerators, precisions)[:, :, None]  # (A,P,1)
    mfu = np.asarray(mfu_by_acc, dtype=np.float64)[:, None, None]
    per_gpu_flops = peak * fx.TERA * mfu
    states = np.array([state_bytes_per_parameter(p) for p in precisions])  # (P,3)
    wbs, gbs, obs = (states[:, i][None, :, None] for i in range(3))
    act_scale = np.array([2.0 if p in ("fp32", "tf32") else 1.0 for p in precisions])[None, :, None]
    intra = np.array([intra_node_bandwidth_gb_s(a.interconnect_bandwidth_gb_s) for a in accelerators])
    inter = np.array([inter_node_bandwidth_gb_s(a.name) for a in accelerators])
    # Memory per GPU for ZeRO-1 and ZeRO-3; ZeRO-1 where it fits.
    m = gbt / (d * micro_batch_size_count * seq)
    per_layer = _activation_per_layer(probe, float(micro_batch_size_count))
    in_flight = np.minimum(pp, np.maximum(np.ceil(m - 1e-9), 1.0))
    acts = (per_layer * layers / 1e9) * (in_flight / (pp * t)) * act_scale
    per_shard = model.parameter_count / 1e9 / (t * pp)
    mem1 = per_shard * (wbs + gbs + obs / d) + acts
    mem3 = per_shard * ((wbs + gbs + obs) / d) + acts
    available = np.array([a.memory_gb for a in accelerators])[:, None, None] * memory_usable_fraction
    fits1 = mem1 <= available
    fits3 = mem3 <= available
    zero = np.where(d > 1, np.where(fits1, 1.0, 3.0), 0.0)
    r = step_core(
        active_parameter_count=model.active_parameters,
        synced_parameter_count=model.parameter_count,
        layer_count=float(layers),
        hidden_size=float(model.hidden_size or 0),
        sequence_length=seq,
        global_batch_tokens=gbt,
        micro_batch_size=float(micro_batch_size_count),
        tensor_parallel=t,
        pipeline_parallel=pp,
        data_parallel=d,
        zero_stage=zero,
        per_gpu_flops_per_s=per_gpu_flops,
        flops_per_parameter_token=6.0,
        gradient_bytes_per_parameter=gbs,
        activation_bytes_per_value=wbs,
        full_recomputation=activation_recomputation == "full",
        gpus_per_node=float(gpus_per_node_count),
        intra_gb_s=intra[:, None, None],
        inter_gb_s=inter[:, None, None],
        hop_latency_s=TRAINING_HOP_LATENCY_S,
        overlap_fraction=overlap_fraction,
    )
    memory_gb = np.where(fits1 | (d <= 1), mem1, mem3)
    efficiency = r["efficiency"]
    flops = fx.training_model_flops(model.forward_flops_per_unit / 2.0, training_tokens)
    ideal_hours = fx.gpu_hours_from_mfu(flops, peak, mfu)
    full3 = (a_n, p_n, v_n)
    hours3 = np.where((fits1 | fits3) & np.isfinite(peak), ideal_hours / efficiency, np.inf)
    layout_columns = {
        "tensor_parallel_count": t,
        "pipeline_parallel_count": pp,
        "data_parallel_count": d,
        "zero_stage": zero,
        "scaling_efficiency": efficiency,
        "memory_gb_per_gpu": memory_gb,
        "gpu_hours": hours3,
    }
    if best_layout_only and v_n:
        starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
        counts = np.diff(np.r_[starts, v_n])
        mins = np.minimum.reduceat(hours3, starts, axis=2)
        candidates = np.where(hours3 == np.repeat(mins, counts, axis=2), np.arange(v_n), v_n)
        best = np.minimum(np.minimum.reduceat(candidates, starts, axis=2), v_n - 1)  # (A,P,G')

        def pick(values: Any) -> NDArray[Any]:
            array = np.asarray(values)
            if array.shape[:2] == (1, 1):
                return array[0, 0][best]
            return np.take_along_axis(np.broadcast_to(array, full3), best, axis=2)

        picked = {k: pick(v)[..., None] for k, v in layout_columns.items()}
        gpu_col = gpu[gi[starts]][None, None, :, None]
    else:
        picked = {k: np.asarray(v)[..., None] for k, v in layout_columns.items()}
        gpu_col = gpu[gi][None, None, :, None]
    price = prices[:, None, None, :]
    hours = picked["gpu_hours"]
    cost = fx.cost_usd(hours, price)
    days = fx.wall_clock_days(hours, gpu_col)
    shape = (a_n, p_n, int(gpu_col.shape[2]), k_n)
    valid = np.broadcast_to(np.isfinite(hours) & np.isfinite(cost), shape)
    columns: dict[str, Any] = {
        "accelerator_index": np.arange(a_n)[:, None, None, None],
        "precision_index": np.arange(p_n)[None, :, None, None],
        "gpu_count": gpu_col,
        "pricing_model_index": np.arange(k_n)[None, None, None, :],
        "price_usd_per_gpu_hour": price,
        "tensor_parallel_count": picked["tensor_parallel_count"],
        "pipeline_parallel_count": picked["pipeline_parallel_count"],
        "data_parallel_count": picked["data_parallel_count"],
        "zero_stage": picked["zero_stage"],
        "scaling_efficiency": picked["scaling_efficiency"],
        "mfu": mfu[..., None],
        "gpu_hours": hours,
        "wall_clock_days": days,
        "cost_usd": cost,
        "memory_gb_per_gpu": picked["memory_gb_per_gpu"],
        "quality_loss_points": np.array([losses[p] for p in precisions])[None, :, None, None],
    }
    table = _finish(
        columns, valid, "cost_usd", "wall_clock_days", "quality_loss_points", evaluated, assumptions
    )
    return _with_names(table, accelerators, precisions, pricing_model_names)


def _with_names(
    table: SweepTable,
    accelerators: Sequence[AcceleratorSpec],
    precisions: Sequence[str],
    pricing_model_names: Sequence[str] | None,
) -> SweepTable:
    """Name lookups as arrays of labels next to the index columns (cheap: fancy indexing)."""
    cols = dict(table.columns)
    if pricing_model_names is None:
        count = int(cols["pricing_model_index"].max(initial=0)) + 1
        pricing_model_names = [f"price_{k}" for k in range(count)]
    cols["accelerator"] = np.array([a.name for a in accelerators], dtype=object)[cols["accelerator_index"]]
    cols["pricing_model"] = np.array(list(pricing_model_names), dtype=object)[cols["pricing_model_index"]]
    if "precision_index" in cols:
        cols["precision"] = np.array(list(precisions), dtype=object)[cols["precision_index"]]
    return SweepTable(
        columns=cols,
        pareto=table.pareto,
        evaluated_count=table.evaluated_count,
        cost_column=table.cost_column,
        time_column=table.time_column,
        assumptions=table.assumptions,
    )


def sweep_serving(
    model: ModelSpec,
    accelerators: Sequence[AcceleratorSpec],
    quantizations: Sequence[tuple[str, str, str]],
    gpus_per_replica_counts: Sequence[int] | NDArray[Any],
    batch_sizes: Sequence[int] | NDArray[Any] | None,
    prices_usd_per_gpu_hour: Any,
    *,
    pricing_model_names: Sequence[str] | None = None,
    prompt_token_count: int = 1024,
    output_token_count: int = 256,
    time_to_first_token_target_s: float | None = None,
    time_per_output_token_target_s: float | None = None,
    utilization_fraction: float = DEFAULT_UTILIZATION,
    quality_loss_points: Sequence[float] | None = None,
    memory_efficiency_fraction: float = DEFAULT_MEMORY_EFFICIENCY,
    compute_efficiency_fraction: float = DEFAULT_COMPUTE_EFFICIENCY,
    memory_usable_fraction: float = DEFAULT_MEMORY_USABLE_FRACTION,
    hop_latency_s: float = DEFAULT_HOP_LATENCY_S,
    max_batched_token_count: int = DEFAULT_MAX_BATCHED_TOKEN_COUNT,
) -> SweepTable:
    """Accelerators × (weight, activation, KV) precisions × GPUs per replica × concurrencies × pricing models.

    Same core as estimate_serving; batch_sizes (concurrencies) None → CONCURRENCY_CANDIDATES, the grid every
    plan search shares, so the cheapest row is the plan estimate_serving picks.
    Plans that do not fit, miss a latency target, lack a price or use a
    precision the accelerator cannot compute in are dropped. Cost column: cost per 1M output tokens (units
    for non-language models); time column: time_per_output_token_s.
    """
    assumptions: list[str] = []
    if quality_loss_points is None:
        quality_loss_points = [
            DEFAULT_QUALITY_LOSS_POINTS[max(q, key=lambda p: -bytes_per_value(p))] for q in quantizations
        ]
        assumptions.append(
            "quality loss per precision assumed: "
            + ", ".join(f"{k} {v}" for k, v in DEFAULT_QUALITY_LOSS_POINTS.items() if v)
        )
    prices = _prices(prices_usd_per_gpu_hour, len(accelerators), pricing_model_names)
    a_n, q_n, k_n = len(accelerators), len(quantizations), prices.shape[1]
    if batch_sizes is None:
        batch_sizes = CONCURRENCY_CANDIDATES
    t = np.asarray(gpus_per_replica_counts, dtype=np.float64)[None, None, :, None, None]
    b = np.asarray(batch_sizes, dtype=np.float64)[None, None, None, :, None]
    peak = _peaks(accelerators, [q[1] for q in quantizations])[:, :, None, None, None]

    def per_acc(values: list[float]) -> NDArray[np.float64]:
        return np.array(values, dtype=np.float64)[:, None, None, None, None]

    def per_q(index: int) -> NDArray[np.float64]:
        return np.array([bytes_per_value(q[index]) for q in quantizations])[None, :, None, None, None]

    r = serving_core(
        total_parameters=model.parameter_count,
        active_parameters=model.active_parameters,
        layer_count=float(model.layer_count or 0),
        kv_values_per_token_per_layer=float(model.kv_values_per_token_per_layer or 0),
        hidden_size=float(model.hidden_size or 0),
        forward_flops_per_unit=model.forward_flops_per_unit,
        bytes_per_unit=float(model.bytes_per_unit or 0.0),
        uses_kv_cache=model.uses_kv_cache,
        weight_bytes_per_value=per_q(0),
        kv_bytes_per_value=per_q(2),
        peak_tflops=peak,
        memory_bandwidth_tb_s=per_acc([a.memory_bandwidth_tb_s for a in accelerators]),
        memory_gb=per_acc([a.memory_gb for a in accelerators]),
        gpus_per_replica=t,
        batch_size=b,
        price_usd_per_gpu_hour=prices[:, None, None, None, :],
        link_gb_s=per_acc([(a.interconnect_bandwidth_gb_s or 64.0) / 2.0 for a in accelerators]),
        prompt_tokens=float(prompt_token_count),
        output_tokens=float(output_token_count),
        utilization_fraction=utilization_fraction,
        memory_efficiency_fraction=memory_efficiency_fraction,
        compute_efficiency_fraction=compute_efficiency_fraction,
        memory_usable_fraction=memory_usable_fraction,
        hop_latency_s=hop_latency_s,
        max_batched_tokens=float(max_batched_token_count),
    )
    shape = (a_n, q_n, t.shape[2], b.shape[3], k_n)
    valid = r["fits"] & np.isfinite(r["cost_usd_per_million_output"])
    if time_to_first_token_target_s is not None:
        valid = valid & (r["time_to_first_token_s"] <= time_to_first_token_target_s)
    if time_per_output_token_target_s is not None:
        valid = valid & (r["time_per_output_token_s"] <= time_per_output_token_target_s)
    valid = np.broadcast_to(valid, shape)
    columns: dict[str, Any] = {
        "accelerator_index": np.arange(a_n)[:, None, None, None, None],
        "quantization_index": np.arange(q_n)[None, :, None, None, None],
        "gpus_per_replica": t,
        "batch_size": b,
        "pricing_model_index": np.arange(k_n)[None, None, None, None, :],
        "price_usd_per_gpu_hour": prices[:, None, None, None, :],
        "memory_gb_per_gpu": r["memory_bytes_per_gpu"] / 1e9,
        "time_to_first_token_s": r["time_to_first_token_s"],
        "time_per_output_token_s": r["time_per_output_token_s"],
        "output_tokens_per_second": r["units_per_s"],
        "output_tokens_per_second_per_gpu": r["units_per_s_per_gpu"],
        "decode_output_tokens_per_second": r["decode_units_per_s"],
        "cost_usd_per_million_output_tokens": r["cost_usd_per_million_output"],
        "cost_usd_per_million_tokens": r["cost_usd_per_million_blended"],
        "quality_loss_points": np.asarray(quality_loss_points, dtype=np.float64)[None, :, None, None, None],
    }
    table = _finish(
        columns,
        valid,
        "cost_usd_per_million_output_tokens",
        "time_per_output_token_s",
        "quality_loss_points",
        int(np.prod(shape)),
        assumptions,
    )
    cols = dict(table.columns)
    labels = np.array(["/".join(q) for q in quantizations], dtype=object)
    cols["quantization"] = labels[cols["quantization_index"]]
    return _with_names(
        SweepTable(
            columns=cols,
            pareto=table.pareto,
            evaluated_count=table.evaluated_count,
            cost_column=table.cost_column,
            time_column=table.time_column,
            assumptions=table.assumptions,
        ),
        accelerators,
        (),
        pricing_model_names,
    )


def cheapest_training_plan(
    model: ModelSpec,
    training_tokens: float,
    accelerators: Sequence[AcceleratorSpec],
    precisions: Sequence[str],
    gpu_counts: Sequence[int] | NDArray[Any],
    prices_usd_per_gpu_hour: Any,
    *,
    max_days: float,
    **kwargs: Any,
) -> dict[str, Any] | None:
    """The cheapest plan of the sweep that trains the model within max_days; None if there is none."""
    table = sweep_training(
        model, training_tokens, accelerators, precisions, gpu_counts, prices_usd_per_gpu_hour, **kwargs
    )
    ok = np.flatnonzero(table.columns["wall_clock_days"] <= max_days)
    return table.row(int(ok[0])) if ok.size else None


def cheapest_serving_plan(
    model: ModelSpec,
    accelerators: Sequence[AcceleratorSpec],
    quantizations: Sequence[tuple[str, str, str]],
    gpus_per_replica_counts: Sequence[int] | NDArray[Any],
    batch_sizes: Sequence[int] | NDArray[Any] | None,
    prices_usd_per_gpu_hour: Any,
    *,
    time_to_first_token_target_s: float | None,
    time_per_output_token_target_s: float | None,
    max_quality_loss_points: float | None = None,
    **kwargs: Any,
) -> dict[str, Any] | None:
    """The cheapest serving plan per 1M output tokens that meets the latency targets (and quality bound).

    The one plan search of every caller (Models, Strategy lab, the simulator's unit costs through the lever
    strategies, the sweep API): batch_sizes None searches CONCURRENCY_CANDIDATES."""
    table = sweep_serving(
        model,
        accelerators,
        quantizations,
        gpus_per_replica_counts,
        batch_sizes,
        prices_usd_per_gpu_hour,
        time_to_first_token_target_s=time_to_first_token_target_s,
        time_per_output_token_target_s=time_per_output_token_target_s,
        **kwargs,
    )
    ok = np.ones(len(table), dtype=bool)
    if max_quality_loss_points is not None:
        ok &= table.columns["quality_loss_points"] <= max_quality_loss_points
    idx = np.flatnonzero(ok)
    return table.row(int(idx[0])) if idx.size else None
