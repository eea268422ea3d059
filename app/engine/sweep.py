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
    DEFAULT_MFU_LANGUAGE,
    DEFAULT_MFU_OTHER,
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
        picked = array[tuple(i if array.shape[d] > 1 else 0 for d, i in enumerate(index))]
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
) -> SweepTable:
    """Accelerators × precisions × GPU counts × pricing models of one pre-training run.

    Same model as estimate_training without a parallelism plan: MFU end-to-end, states fully sharded
    (ZeRO-3) over the GPUs, Korthikanti activations without tensor parallelism. Infeasible plans (precision
    unsupported, no price, out of memory) are dropped. Time column: wall_clock_days.
    """
    assumptions: list[str] = []
    if mfu_fraction is None:
        mfu_fraction = DEFAULT_MFU_LANGUAGE if model.workload == "language" else DEFAULT_MFU_OTHER
        assumptions.append(f"MFU {mfu_fraction:.2f} (Epoch AI default)")
    losses = dict(quality_loss_points_by_precision or {})
    for p in precisions:
        if p not in losses:
            # Mixed-precision bf16/fp16 training is reported at parity with fp32; fp8 less settled.
            losses[p] = DEFAULT_QUALITY_LOSS_POINTS.get(p, 0.0)
            if losses[p]:
                assumptions.append(f"{p} training quality loss {losses[p]} points (assumed)")
    prices = _prices(prices_usd_per_gpu_hour, len(accelerators), pricing_model_names)
    gpu = np.asarray(gpu_counts, dtype=np.float64)
    a_n, p_n, g_n, k_n = len(accelerators), len(precisions), gpu.shape[0], prices.shape[1]

    peak = _peaks(accelerators, precisions)[:, :, None, None]  # (A,P,1,1)
    flops = fx.training_model_flops(model.forward_flops_per_unit / 2.0, training_tokens)
    gpu_hours = fx.gpu_hours_from_mfu(flops, peak, mfu_fraction)
    days = fx.wall_clock_days(gpu_hours, gpu[None, None, :, None])
    cost = fx.cost_usd(gpu_hours, prices[:, None, None, :])

    # Memory per GPU: ZeRO-3 states / n + activations (16-bit constants, doubled for fp32/tf32).
    state = np.array([sum(state_bytes_per_parameter(p)) for p in precisions])[None, :, None, None]
    act_scale = np.array([2.0 if p in ("fp32", "tf32") else 1.0 for p in precisions])[None, :, None, None]
    activations: Any = 0.0
    if model.layer_count and model.hidden_size and model.attention_head_count and model.sequence_length:
        activations = (
            fx.activation_bytes_per_layer(
                model.sequence_length,
                micro_batch_size_count,
                model.hidden_size,
                model.attention_head_count,
                activation_recomputation,
            )
            * model.layer_count
        )
    w, g, o = fx.sharded_state_bytes(model.parameter_count, state, 0.0, 0.0, 1.0, gpu[None, None, :, None], 3)
    memory_gb = (w + activations * act_scale) / 1e9
    available = np.array([a.memory_gb for a in accelerators])[:, None, None, None] * memory_usable_fraction
    fits = memory_gb <= available
    shape = (a_n, p_n, g_n, k_n)
    valid = np.broadcast_to(fits & np.isfinite(cost), shape)
    columns: dict[str, Any] = {
        "accelerator_index": np.arange(a_n)[:, None, None, None],
        "precision_index": np.arange(p_n)[None, :, None, None],
        "gpu_count": gpu[None, None, :, None],
        "pricing_model_index": np.arange(k_n)[None, None, None, :],
        "price_usd_per_gpu_hour": prices[:, None, None, :],
        "gpu_hours": gpu_hours,
        "wall_clock_days": days,
        "cost_usd": cost,
        "memory_gb_per_gpu": memory_gb,
        "quality_loss_points": np.array([losses[p] for p in precisions])[None, :, None, None],
    }
    table = _finish(
        columns, valid, "cost_usd", "wall_clock_days", "quality_loss_points", int(np.prod(shape)), assumptions
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
