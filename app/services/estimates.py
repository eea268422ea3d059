"""Cost estimates: resolve stored rows (model configuration, accelerator, price quote) into engine inputs,
call the engine, return plain dicts with units in their names. Reads only; never commits.

Inputs arrive as plain dicts/values (the web layer's validated request, dumped); engine errors become
ValidationFailed naming the field at fault, so a plan that cannot fit is a 422 with its numbers, not a 500.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, ModelConfig, PriceQuote
from app.engine import article
from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import A100_SXM4_80GB, AcceleratorSpec, UnsupportedPrecision, accelerator_from_row
from app.engine.parallelism import LayoutInfeasible, ParallelismPlan
from app.engine.serving import (
    CONCURRENCY_CANDIDATES,
    DEFAULT_MAX_BATCHED_TOKEN_COUNT,
    DEFAULT_UTILIZATION,
    PlanDoesNotFit,
    ServingPlan,
    estimate_serving,
)
from app.engine.sweep import SweepTable, sweep_serving, sweep_training
from app.engine.training import TrainingPlan, estimate_training
from app.services.errors import NotFoundError, ValidationFailed
from app.services.price_sheet import accelerator_by_name, cheapest_offers, cheapest_quote
from app.services.resolved_cache import Resolved

MAX_SWEEP_PLANS = 5_000_000


# --- resolving rows into engine inputs ------------------------------------------------------------------


def model_spec(
    session: Session, model: Mapping[str, Any] | None, model_id: int | None
) -> tuple[ModelSpec, float | None]:
    """An inline model or a stored configuration → (ModelSpec, its training tokens if stored)."""
    if (model is None) == (model_id is None):
        raise ValidationFailed("give either model or model_id", field="model")
    if model is not None:
        try:
            return ModelSpec(**{k: v for k, v in model.items() if v is not None}), None
        except (TypeError, ValueError) as error:
            raise ValidationFailed(str(error), field="model") from error
    row = session.get(ModelConfig, model_id)
    if row is None:
        raise NotFoundError(f"model configuration {model_id} does not exist", field="model_id")
    return spec_of_model_row(row), row.training_tokens


def spec_of_model_row(row: ModelConfig) -> ModelSpec:
    """A stored model configuration → ModelSpec (the engine calls the context length sequence_length)."""
    try:
        return ModelSpec(
            name=row.name,
            workload=row.workload,
            parameter_count=row.parameter_count,
            active_parameter_count=row.active_parameter_count,
            layer_count=row.layer_count,
            hidden_size=row.hidden_size,
            attention_head_count=row.attention_head_count,
            kv_head_count=row.kv_head_count,
            vocabulary_size=row.vocabulary_size,
            sequence_length=row.context_length,
            kv_cache_values_per_token_per_layer=row.kv_cache_values_per_token_per_layer,
            flops_per_unit=row.flops_per_unit,
            bytes_per_unit=row.bytes_per_unit,
            unit_name=row.unit_name or "token",
            # The table stores no MLP kind: a shipped preset's (GPT-3, BERT: GELU) by name, else Llama-style.
            mlp_activation=PRESETS[row.name].mlp_activation if row.name in PRESETS else "swiglu",
        )
    except ValueError as error:
        raise ValidationFailed(f"stored model {row.name}: {error}", field="model_id") from error


def spec_of_row(row: Accelerator) -> AcceleratorSpec:
    """An Accelerator row → AcceleratorSpec (the csv rules: no-BF16 parts keep their FP16 column as fp16)."""
    return accelerator_from_row(
        {
            "name": row.name,
            "memory_gb": row.memory_gb,
            "memory_bandwidth_tb_s": row.memory_bandwidth_tb_s,
            "fp32_tflops": row.fp32_tflops,
            "tf32_tflops_dense": row.tf32_tflops,
            "bf16_fp16_tflops_dense": row.bf16_tflops,
            "fp8_tflops_dense": row.fp8_tflops,
            "int8_tops_dense": row.int8_tops,
            "fp4_tflops_dense": row.fp4_tflops,
            "tdp_watts": row.board_power_w,
            "interconnect_bandwidth_gb_s": row.interconnect_bandwidth_gb_s,
            "notes": row.notes,
        }
    )


def accelerator_spec(
    session: Session,
    accelerator: Mapping[str, Any] | None,
    accelerator_id: int | None,
    accelerator_name: str | None,
) -> tuple[AcceleratorSpec, int | None]:
    """Inline specs, a stored id or a stored name → (AcceleratorSpec, row id or None)."""
    given = [accelerator is not None, accelerator_id is not None, accelerator_name is not None]
    if sum(given) != 1:
        raise ValidationFailed(
            "give exactly one of accelerator, accelerator_id, accelerator_name", field="accelerator"
        )
    if accelerator is not None:
        try:
            return AcceleratorSpec(**{k: v for k, v in accelerator.items() if v is not None}), None
        except (TypeError, ValueError) as error:
            raise ValidationFailed(str(error), field="accelerator") from error
    row = (
        session.get(Accelerator, accelerator_id)
        if accelerator_id is not None
        else (accelerator_by_name(session, accelerator_name or ""))
    )
    if row is None:
        field = "accelerator_id" if accelerator_id is not None else "accelerator_name"
        raise NotFoundError(f"accelerator {accelerator_id or accelerator_name!r} does not exist", field=field)
    return spec_of_row(row), row.id


def price(
    session: Session,
    given_usd_per_gpu_hour: float | None,
    accelerator_id: int | None,
    pricing_model: str,
    price_quote_id: int | None = None,
    as_of: date | None = None,
) -> tuple[float | None, str]:
    """The price per GPU-hour and where it came from: given, a named quote, or the cheapest quote in effect
    for the accelerator and pricing model (instance-total prices only; GPU-only components lack the host)."""
    if given_usd_per_gpu_hour is not None:
        return given_usd_per_gpu_hour, "given"
    if price_quote_id is not None:
        quote = session.get(PriceQuote, price_quote_id)
        if quote is None:
            raise NotFoundError(f"price quote {price_quote_id} does not exist", field="price_quote_id")
        return quote.usd_per_accelerator_hour, _describe(quote)
    if accelerator_id is None:
        return None, "none: inline accelerator and no price given"
    quote = cheapest_quote(session, accelerator_id, pricing_model, as_of)
    if quote is None:
        return None, f"none: no {pricing_model} quote in effect for this accelerator"
    return quote.usd_per_accelerator_hour, "cheapest " + _describe(quote)


def multi_gpu_price(
    session: Session,
    given_usd_per_gpu_hour: float | None,
    accelerator_id: int | None,
    pricing_model: str,
    gpu_count: int,
    price_quote_id: int | None = None,
    as_of: date | None = None,
) -> tuple[float | None, str, int | None]:
    """The price of a run on gpu_count GPUs: given, a named quote, or the cheapest offer in effect whose
    instance holds at least min(gpu_count, 8) accelerators (a 2,048-GPU run is not priced at a one-GPU
    marketplace offer). Where the part has no such instance, the cheapest offer of the largest instances it
    has, said so. Returns (USD per GPU-hour, price_source, the offer's accelerators per instance)."""
    if given_usd_per_gpu_hour is not None:
        return given_usd_per_gpu_hour, "given", None
    if price_quote_id is not None:
        quote = session.get(PriceQuote, price_quote_id)
        if quote is None:
            raise NotFoundError(f"price quote {price_quote_id} does not exist", field="price_quote_id")
        return quote.usd_per_accelerator_hour, _describe(quote), quote.accelerator_count
    if accelerator_id is None:
        return None, "none: inline accelerator and no price given", None
    wanted = min(gpu_count, 8)
    for minimum in sorted({wanted, *(k for k in (4, 2, 1) if k < wanted)}, reverse=True):
        quote = cheapest_quote(session, accelerator_id, pricing_model, as_of, minimum)
        if quote is None:
            continue
        note = (
            f"cheapest {pricing_model} offer with at least {minimum} accelerators per instance"
            if minimum > 1
            else f"cheapest {pricing_model} offer"
        )
        if minimum < wanted:
            note += f" (none with {wanted} or more in effect)"
        return quote.usd_per_accelerator_hour, f"{note}: {_describe(quote)}", quote.accelerator_count
    return None, f"none: no {pricing_model} quote in effect for this accelerator", None


def _describe(quote: PriceQuote) -> str:
    return (
        f"{quote.pricing_model} quote #{quote.id}: "
        f"{quote.provider} {quote.instance_type} {quote.region}".strip()
        + f" (${quote.usd_per_accelerator_hour:.4g}/GPU-hour from {quote.effective_from.isoformat()})"
    )


def _stored_model(
    memo: Resolved, session: Session, request: Mapping[str, Any]
) -> tuple[ModelSpec, float | None]:
    """model_spec, a stored configuration memoised while model_configs is unchanged (ModelSpec is frozen)."""
    if request.get("model") is None and request.get("model_id") is not None:
        return memo.get(
            ("model", request["model_id"]), lambda: model_spec(session, None, request["model_id"])
        )
    return model_spec(session, request.get("model"), request.get("model_id"))


def _stored_accelerator(
    memo: Resolved, session: Session, request: Mapping[str, Any]
) -> tuple[AcceleratorSpec, int | None]:
    """accelerator_spec, a stored row memoised while accelerators is unchanged (AcceleratorSpec is frozen)."""
    args = (request.get("accelerator"), request.get("accelerator_id"), request.get("accelerator_name"))
    if args[0] is None:
        return memo.get(("accelerator", args[1], args[2]), lambda: accelerator_spec(session, *args))
    return accelerator_spec(session, *args)


def _engine_error(error: Exception, field: str) -> ValidationFailed:
    if isinstance(error, UnsupportedPrecision):
        return ValidationFailed(str(error), field=field)
    return ValidationFailed(str(error), field=field)


def _finite(result: dict[str, Any]) -> dict[str, Any]:
    """Extreme (schema-valid) inputs can overflow a formula; JSON has no infinity: say so as a 422."""

    def bad(value: Any) -> bool:
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, dict):
            return any(bad(v) for v in value.values())
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return False

    for key, value in result.items():
        if bad(value):
            raise ValidationFailed(f"these inputs give a non-finite {key}: check the magnitudes", field=None)
    return result


def _guarded(
    use_case: Callable[[Session, Mapping[str, Any]], dict[str, Any]],
) -> Callable[[Session, Mapping[str, Any]], dict[str, Any]]:
    """Run a use case with numpy's floating-point warnings off, then refuse non-finite answers."""

    @functools.wraps(use_case)
    def run(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            with np.errstate(all="ignore"):
                return _finite(use_case(session, request))
        except (ZeroDivisionError, OverflowError) as error:
            raise ValidationFailed(
                f"these inputs overflow a formula ({error}): check the magnitudes"
            ) from error

    return run


# --- the use cases --------------------------------------------------------------------------------------


@_guarded
def training(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /estimates/training: resolve, estimate, and report every number with its assumptions and the
    parallel layout it ran on."""
    memo = Resolved(session)
    spec, stored_tokens = _stored_model(memo, session, request)
    acc, acc_id = _stored_accelerator(memo, session, request)
    tokens = request.get("training_tokens") or stored_tokens
    if not tokens:
        raise ValidationFailed(
            "training_tokens is required (the model has none stored)", field="training_tokens"
        )
    pricing_model = request.get("pricing_model", "on_demand")
    usd, price_source, offer_count = memo.get(
        ("multi_gpu_price", request.get("price_usd_per_gpu_hour"), acc_id, pricing_model,
         min(request["gpu_count"], 8), request.get("price_quote_id")),
        lambda: multi_gpu_price(
            session,
            request.get("price_usd_per_gpu_hour"),
            acc_id,
            pricing_model,
            request["gpu_count"],
            request.get("price_quote_id"),
        ),
        stored=request.get("price_usd_per_gpu_hour") is None and acc_id is not None,
    )  # fmt: skip
    layout = request.get("parallelism")
    calibration: tuple[float, str] | None = None
    fitted: dict[str, Any] | None = None
    if request.get("calibrated"):
        fitted = _required_calibration(session, acc.name, "training")
        calibration = (fitted["factor"], fitted["label"])
    try:
        parallelism = ParallelismPlan(**layout) if layout else None
        plan = TrainingPlan(
            model=spec,
            training_tokens=float(tokens),
            accelerator=acc,
            gpu_count=request["gpu_count"],
            precision=request.get("precision", "bf16"),
            mfu_fraction=request.get("mfu"),
            mfu_basis=request.get("mfu_basis", "end_to_end"),
            achieved_tflops_per_gpu=request.get("achieved_tflops_per_gpu"),
            achieved_flops_basis=request.get("achieved_flops_basis", "megatron"),
            activation_recomputation=request.get("activation_recomputation", "selective"),
            price_usd_per_gpu_hour=usd,
            pue=request.get("pue"),
            grid_kg_co2_per_kwh=request.get("grid_kg_co2_per_kwh"),
            power_utilization_fraction=request.get("power_utilization"),
            half_precision_fraction=request.get("half_precision_fraction"),
            parallelism=parallelism,
            micro_batch_size_count=request.get("micro_batch_size", 1),
            global_batch_token_count=request.get("global_batch_tokens"),
            efficiency_factor=calibration[0] if calibration else None,
        )
    except UnsupportedPrecision as error:
        raise _engine_error(error, "precision") from error
    except ValueError as error:
        raise ValidationFailed(
            str(error), field="parallelism" if "parallel" in str(error) else "gpu_count"
        ) from error
    try:
        est = estimate_training(plan)
    except UnsupportedPrecision as error:
        raise _engine_error(error, "precision") from error
    except LayoutInfeasible as error:
        raise ValidationFailed(str(error), field="parallelism" if layout else "gpu_count") from error
    except ValueError as error:
        field = "achieved_tflops_per_gpu" if "achieved" in str(error) else "mfu"
        raise ValidationFailed(str(error), field=field) from error
    memory = est.memory
    chosen = est.layout
    assert chosen is not None
    assumptions = list(est.assumptions)
    if calibration:
        assumptions.append(calibration[1])
    if usd is not None:
        assumptions.append(f"price: {price_source}")
    return {
        "model_name": spec.name,
        "accelerator_name": acc.name,
        "training_tokens": float(tokens),
        "model_flops": est.model_flops,
        "hardware_flops": est.hardware_flops,
        "effective_peak_tflops": est.effective_peak_tflops,
        "mfu": est.mfu_fraction,
        "end_to_end_mfu": est.end_to_end_mfu_fraction,
        "mfu_source": est.mfu_source,
        "calibration": calibration[1] if calibration else None,
        "calibration_fit": fitted,
        "achieved_tflops_per_gpu": est.achieved_tflops_per_gpu,
        "ideal_gpu_hours": est.ideal_gpu_hours,
        "gpu_hours": est.gpu_hours,
        "gpu_hours_range": list(est.gpu_hours_range) if est.gpu_hours_range else None,
        "wall_clock_days": est.wall_clock_days,
        "wall_clock_days_range": list(est.wall_clock_days_range) if est.wall_clock_days_range else None,
        "scaling_efficiency": est.scaling_efficiency,
        "layout": {
            "tensor_parallel_count": chosen.tensor_parallel_count,
            "pipeline_parallel_count": chosen.pipeline_parallel_count,
            "data_parallel_count": chosen.data_parallel_count,
            "zero_stage": chosen.zero_stage,
            "micro_batch_size_count": chosen.micro_batch_size_count,
            "global_batch_token_count": chosen.global_batch_token_count,
            "chosen": est.layout_chosen,
            "description": chosen.describe(),
        },
        "cost_usd": est.cost_usd,
        "cost_usd_range": list(est.cost_usd_range) if est.cost_usd_range else None,
        "price_usd_per_gpu_hour": usd,
        "price_source": price_source,
        "pricing_model": pricing_model,
        "price_offer_accelerator_count": offer_count,
        "energy_kwh": est.energy_kwh,
        "co2_kg": est.co2_kg,
        "memory_gb_per_gpu": memory.total_gb,
        "memory_by_part_gb": {
            "weights_gb": memory.weights_gb,
            "gradients_gb": memory.gradients_gb,
            "optimizer_gb": memory.optimizer_gb,
            "activations_gb": memory.activations_gb,
        },
        "available_memory_gb_per_gpu": memory.available_gb,
        "fits_in_memory": est.fits_in_memory,
        "minimum_gpu_count": est.minimum_gpu_count,
        "memory_message": est.memory_message,
        "communication": asdict(est.scaling) if est.scaling else None,
        "assumptions": assumptions,
    }


def calibration_factor(
    session: Session, accelerator_name: str, kind: str = "training"
) -> tuple[float, str] | None:
    """The efficiency factor fitted on the user's measurements of this kind on this accelerator, or None."""
    fit = calibration_fit(session, accelerator_name, kind)
    return None if fit is None else (fit["factor"], fit["label"])


def calibration_fit(session: Session, accelerator_name: str, kind: str) -> dict[str, Any] | None:
    """The fit (factor, N, residuals, label) on the user's measurements of this kind and accelerator."""
    from app.services import measurements  # measurements reads this module's row mapping

    fit = measurements.kind_fit(session, accelerator_name, kind)
    if fit is None:
        return None
    return {
        "factor": fit.factor,
        "count": fit.count,
        "residuals": list(fit.residuals),
        "rms_residual": fit.rms_residual,
        "label": fit.label,
    }


def _required_calibration(session: Session, accelerator_name: str, kind: str) -> dict[str, Any]:
    """calibrated: true with no measurements to fit is refused (422), never silently uncalibrated."""
    fit = calibration_fit(session, accelerator_name, kind)
    if fit is None:
        raise ValidationFailed(
            f"no {kind} measurements of {accelerator_name} to calibrate on (POST /api/v1/measurements)",
            field="calibrated",
        )
    return fit


@_guarded
def inference(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /estimates/inference. A replica that cannot hold the model raises ValidationFailed with the GB."""
    memo = Resolved(session)
    spec, _ = _stored_model(memo, session, request)
    acc, acc_id = _stored_accelerator(memo, session, request)
    usd, price_source = memo.get(
        ("price", request.get("price_usd_per_gpu_hour"), acc_id, request.get("pricing_model", "on_demand"),
         request.get("price_quote_id")),
        lambda: price(
            session,
            request.get("price_usd_per_gpu_hour"),
            acc_id,
            request.get("pricing_model", "on_demand"),
            request.get("price_quote_id"),
        ),
        stored=request.get("price_usd_per_gpu_hour") is None and acc_id is not None,
    )  # fmt: skip
    fitted = _required_calibration(session, acc.name, "serving") if request.get("calibrated") else None
    try:
        plan = ServingPlan(
            model=spec,
            accelerator=acc,
            gpus_per_replica_count=request.get("gpus_per_replica", 1),
            weight_precision=request.get("weight_precision", "bf16"),
            activation_precision=request.get("activation_precision", "bf16"),
            kv_cache_precision=request.get("kv_cache_precision", "bf16"),
            batch_size_count=request.get("batch_size"),
            max_batch_size_count=request.get("max_batch_size", 1024),
            prompt_token_count=request.get("prompt_tokens", 1024),
            output_token_count=request.get("output_tokens", 256),
            time_to_first_token_target_s=request.get("time_to_first_token_target_s"),
            time_per_output_token_target_s=request.get("time_per_output_token_target_s"),
            utilization_fraction=request.get("utilization"),
            price_usd_per_gpu_hour=usd,
            quality_loss_points=request.get("quality_loss_points"),
            memory_efficiency_fraction=request.get("memory_efficiency"),
            compute_efficiency_fraction=request.get("compute_efficiency"),
            max_batched_token_count=request.get("max_batched_tokens", DEFAULT_MAX_BATCHED_TOKEN_COUNT),
            efficiency_factor=fitted["factor"] if fitted else None,
        )
        est = estimate_serving(plan)
        est.raise_if_infeasible()
    except UnsupportedPrecision as error:
        raise _engine_error(error, "activation_precision") from error
    except PlanDoesNotFit as error:
        raise ValidationFailed(str(error), field="gpus_per_replica") from error
    except ValueError as error:
        raise ValidationFailed(str(error), field="model") from error
    return {
        "model_name": spec.name,
        "accelerator_name": acc.name,
        "gpus_per_replica": plan.gpus_per_replica_count,
        "weights_bytes": est.weights_bytes,
        "weights_gb_per_gpu": est.weights_gb_per_gpu,
        "kv_cache_bytes_per_token": est.kv_cache_bytes_per_token,
        "kv_cache_gb_per_gpu": est.kv_cache_gb_per_gpu,
        "memory_gb_per_gpu": est.memory_gb_per_gpu,
        "available_memory_gb_per_gpu": est.available_gb_per_gpu,
        "fits_in_memory": est.fits_in_memory,
        "mode": est.mode,
        "meets_latency_targets": est.meets_latency_targets,
        "batch_size": est.batch_size,
        "concurrency": est.batch_size,
        "compute_precision": est.compute_precision,
        "time_to_first_token_s": est.time_to_first_token_s,
        "time_per_output_token_s": est.time_per_output_token_s,
        "decode_memory_s": est.decode_memory_s,
        "decode_compute_s": est.decode_compute_s,
        "communication_s": est.communication_s,
        "bound": est.bound,
        "iteration_s": est.iteration_s,
        "gemm_memory_s": est.gemm_memory_s,
        "gemm_compute_s": est.gemm_compute_s,
        "attention_s": est.attention_s,
        "queue_wait_s": est.queue_wait_s,
        "prefill_iteration_count": est.prefill_iteration_count,
        "output_tokens_per_second": est.output_tokens_per_second,
        "output_tokens_per_second_per_gpu": est.output_tokens_per_second_per_gpu,
        "input_tokens_per_second": est.input_tokens_per_second,
        "decode_output_tokens_per_second": est.decode_output_tokens_per_second,
        "prefill_input_tokens_per_second": est.prefill_input_tokens_per_second,
        "utilization": plan.utilization_fraction
        if plan.utilization_fraction is not None
        else DEFAULT_UTILIZATION,
        "cost_usd_per_million_output_tokens": est.cost_usd_per_million_output_tokens,
        "cost_usd_per_million_tokens": est.cost_usd_per_million_tokens,
        "unit_name": est.unit_name,
        "cost_usd_per_thousand_units": est.cost_usd_per_thousand_units,
        "quality_loss_points": est.quality_loss_points,
        "price_usd_per_gpu_hour": usd,
        "price_source": price_source,
        "message": est.message,
        "calibration": fitted["label"] if fitted else None,
        "calibration_fit": fitted,
        "assumptions": list(est.assumptions)
        + ([fitted["label"]] if fitted else [])
        + ([f"price: {price_source}"] if usd is not None else []),
    }


def _sweep_accelerators(
    session: Session, ids: Sequence[int] | None, names: Sequence[str] | None
) -> list[Accelerator]:
    query = select(Accelerator).order_by(Accelerator.id)
    if ids:
        query = query.where(Accelerator.id.in_(ids))
    if names:
        query = query.where(Accelerator.name.in_(names))
    rows = list(session.scalars(query))
    if not rows:
        raise ValidationFailed(
            "no accelerator matches", field="accelerator_ids" if ids else "accelerator_names"
        )
    return rows


def _sweep_prices(
    session: Session,
    rows: Sequence[Accelerator],
    pricing_models: Sequence[str],
    given: float | None,
    min_accelerators_per_instance: int = 1,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Accelerators × pricing models: the given price, or the cheapest offer of each pair (one query), from
    instances with at least min_accelerators_per_instance accelerators."""
    prices = np.full((len(rows), len(pricing_models)), np.nan)
    if given is not None:
        prices[:, :] = given
        return prices
    offers = cheapest_offers(
        session, [row.id for row in rows], pricing_models, None, min_accelerators_per_instance
    )
    for i, row in enumerate(rows):
        for k, model in enumerate(pricing_models):
            quote = offers.get((row.id, model))
            if quote is not None:
                prices[i, k] = quote.usd_per_accelerator_hour
    return prices


def _table_rows(table: SweepTable, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    skip = {"accelerator_index", "precision_index", "pricing_model_index", "quantization_index"}

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in skip}

    plans = [clean(table.row(i)) for i in range(min(limit, len(table)))]
    frontier = [clean(r) for r in table.frontier()[:limit]]
    return plans, frontier


@_guarded
def sweep(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /estimates/sweep: a training or serving sweep over stored accelerators and their cheapest
    quotes."""
    spec, stored_tokens = model_spec(session, request.get("model"), request.get("model_id"))
    rows = _sweep_accelerators(session, request.get("accelerator_ids"), request.get("accelerator_names"))
    pricing_models = list(request.get("pricing_models") or ["on_demand"])
    accs = [spec_of_row(r) for r in rows]
    kind = request["kind"]
    multi = min(8, max(request.get("gpu_counts") or [8])) if kind == "training" else 1
    prices = _sweep_prices(session, rows, pricing_models, request.get("price_usd_per_gpu_hour"), multi)
    cheapest: dict[str, Any] | None = None
    if kind == "training":
        tokens = request.get("training_tokens") or stored_tokens
        if not tokens:
            raise ValidationFailed(
                "training_tokens is required (the model has none stored)", field="training_tokens"
            )
        precisions = list(request.get("precisions") or ["bf16"])
        gpu_counts = list(request.get("gpu_counts") or [8, 64, 256, 1024])
        size = len(accs) * len(precisions) * len(gpu_counts) * len(pricing_models) * 4 * 7
        _check_size(size)
        try:
            table = sweep_training(
                spec,
                float(tokens),
                accs,
                precisions,
                gpu_counts,
                prices,
                pricing_model_names=pricing_models,
                mfu_fraction=request.get("mfu"),
                activation_recomputation=request.get("activation_recomputation", "selective"),
                global_batch_token_count=request.get("global_batch_tokens"),
            )
        except ValueError as error:
            raise ValidationFailed(str(error), field="model") from error
        if request.get("price_usd_per_gpu_hour") is None and multi > 1:
            table = replace(
                table,
                assumptions=(
                    *table.assumptions,
                    f"prices: cheapest offers of instances with at least {multi} accelerators",
                ),
            )
        max_days = request.get("max_days")
        if max_days is not None:
            ok = np.flatnonzero(table.columns["wall_clock_days"] <= max_days)
            cheapest = table.row(int(ok[0])) if ok.size else None
        elif len(table):
            cheapest = table.row(0)
    else:
        quantizations = request.get("quantizations") or [
            {"weight_precision": "bf16", "activation_precision": "bf16", "kv_cache_precision": "bf16"}
        ]
        combos = [
            (q["weight_precision"], q["activation_precision"], q["kv_cache_precision"]) for q in quantizations
        ]
        losses = [q.get("quality_loss_points") for q in quantizations]
        gpus = list(request.get("gpus_per_replica") or [1, 2, 4, 8])
        batches = list(request.get("batch_sizes") or CONCURRENCY_CANDIDATES)
        size = len(accs) * len(combos) * len(gpus) * len(batches) * len(pricing_models)
        _check_size(size)
        kwargs: dict[str, Any] = {}
        if all(v is not None for v in losses):
            kwargs["quality_loss_points"] = losses
        if request.get("utilization") is not None:
            kwargs["utilization_fraction"] = request["utilization"]
        table = sweep_serving(
            spec,
            accs,
            combos,
            gpus,
            batches,
            prices,
            pricing_model_names=pricing_models,
            prompt_token_count=request.get("prompt_tokens", 1024),
            output_token_count=request.get("output_tokens", 256),
            time_to_first_token_target_s=request.get("time_to_first_token_target_s"),
            time_per_output_token_target_s=request.get("time_per_output_token_target_s"),
            **kwargs,
        )
        if len(table):
            cheapest = table.row(0)
    plans, frontier = _table_rows(table, request.get("limit", 50))
    skip = {"accelerator_index", "precision_index", "pricing_model_index", "quantization_index"}
    return {
        "kind": kind,
        "evaluated_plan_count": table.evaluated_count,
        "feasible_plan_count": len(table),
        "cost_column": table.cost_column,
        "time_column": table.time_column,
        "cheapest": {k: v for k, v in cheapest.items() if k not in skip} if cheapest else None,
        "plans": plans,
        "pareto": frontier,
        "assumptions": list(table.assumptions)
        + [
            "prices: "
            + (
                "given"
                if request.get("price_usd_per_gpu_hour") is not None
                else "cheapest quote in effect per accelerator and pricing model; "
                "accelerators without one drop out"
            )
        ],
    }


def _check_size(size: int) -> None:
    if size > MAX_SWEEP_PLANS:
        raise ValidationFailed(
            f"{size:,} plans requested; at most {MAX_SWEEP_PLANS:,} per sweep", field="gpu_counts"
        )


@_guarded
def article_view(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST /estimates/article: the four formulas on the given inputs, the worked example beside the physical
    model, and the reported-results scenario questioned."""
    name = request.get("accelerator_name") or "A100-SXM4-80GB"
    row = accelerator_by_name(session, name)
    if row is None and request.get("accelerator_name"):
        raise NotFoundError(f"accelerator {name!r} does not exist", field="accelerator_name")
    acc = spec_of_row(row) if row is not None else A100_SXM4_80GB
    comm = request.get("communication") or {}
    transfer = request.get("transfer_learning") or {}
    quant = request.get("quantization") or {}
    mixed = request.get("mixed_precision") or {}
    n, g = comm.get("node_count", 10.0), comm.get("gradient_size", 1.0)
    try:
        formulas = {
            "communication_volume": article.communication_volume(n, g),
            "compressed_communication_volume": article.compressed_communication_volume(n, g),
            "transfer_learning_cost": article.transfer_learning_cost(
                transfer.get("pretrained_size", 100.0),
                transfer.get("iteration_count", 1000.0),
                transfer.get("alpha_p", 1.0),
                transfer.get("alpha_t", 0.1),
            ),
            "quantization_cost": article.quantization_cost(
                quant.get("float_model_cost", 1000.0),
                quant.get("quantization_error", 10.0),
                quant.get("alpha_q", 1.0),
            ),
            "mixed_precision_cost": article.mixed_precision_cost(
                mixed.get("operation_count", 1e11),
                mixed.get("half_precision_fraction", 0.7),
                mixed.get("beta_16", 0.5),
                mixed.get("beta_32", 1.0),
            ),
        }
        scenario = article.ArticleScenario(**(request.get("scenario") or {}))
        findings = article.question_scenario(scenario, acc)
        worked = article.article_formulas(acc)
    except (ValueError, ZeroDivisionError, UnsupportedPrecision) as error:
        raise ValidationFailed(str(error), field="scenario") from error
    return {
        "accelerator_name": acc.name,
        "formulas": {k: (v if math.isfinite(v) else None) for k, v in formulas.items()},
        "worked_example": [asdict(c) for c in worked],
        "scenario": asdict(scenario),
        "findings": [asdict(f) for f in findings],
    }
