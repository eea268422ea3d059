"""Models: the configurations; per model, what training costs by accelerator (and memory by part) and a
serving-cost heatmap accelerator × precision with the cheapest plan marked. Numbers come from the cost engine
(estimate_training, sweep_serving); this module only chooses inputs and shapes results for the charts."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, TypedDict

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.db.models import Accelerator, ModelConfig
from app.engine.parallelism import ParallelismPlan
from app.engine.sweep import sweep_serving
from app.engine.training import TrainingPlan, estimate_training
from app.services import measurements as measurements_service
from app.web.api.estimates import TrainingRequest
from app.web.charts.models import TrainingRow, serving_heatmap, training_cost_chart, training_memory_chart
from app.web.deps import SessionDep
from app.web.pages.engine_inputs import PricedAccelerator, model_spec, priced_accelerators
from app.web.pages.forms import FormErrors, parse_float, parse_int, schema_bounds
from app.web.pages.render import render

router = APIRouter()

# (weights, activations, KV cache) precisions the heatmap compares; weight-only int8/int4 keep 16-bit compute.
QUANTIZATIONS: dict[str, tuple[str, str, str]] = {
    "FP32": ("fp32", "fp32", "fp32"),
    "FP16": ("fp16", "fp16", "fp16"),
    "BF16": ("bf16", "bf16", "bf16"),
    "FP8": ("fp8", "fp8", "fp8"),
    "INT8 weights + KV": ("int8", "bf16", "int8"),
    "INT4 weights": ("int4", "bf16", "bf16"),
}
GPUS_PER_REPLICA = (1, 2, 4, 8)


class _Defaults(TypedDict):
    gpus: int
    tp: int | str
    pp: int | str
    zero: int
    utilization: float
    tpot_ms: float
    ttft_s: float


DEFAULTS: _Defaults = {
    "gpus": 1024,
    "tp": "",  # blank tensor and pipeline degrees: the engine chooses the layout (and reports it)
    "pp": "",
    "zero": 1,
    "utilization": 0.5,
    "tpot_ms": 50.0,
    "ttft_s": 2.0,
}


def _layout(
    p: PricedAccelerator, gpus: int, tp: int | None, pp: int | None, zero: int
) -> ParallelismPlan | None:
    """The given layout (tensor parallelism inside a node over the part's own link, half its bidirectional
    figure; data parallelism across nodes over the default NIC), or None: the engine chooses."""
    if tp is None and pp is None:
        return None
    tp, pp = tp or 1, pp or 1
    intra = (p.spec.interconnect_bandwidth_gb_s or 64.0) / 2.0
    return ParallelismPlan(
        data_parallel_count=gpus // (tp * pp),
        tensor_parallel_count=tp,
        pipeline_parallel_count=pp,
        zero_stage=zero,
        intra_node_bandwidth_gb_s=intra,
    )


def _training_rows(
    spec: Any,
    tokens: float,
    priced: list[PricedAccelerator],
    gpus: int,
    mfu: float | None,
    tp: int | None,
    pp: int | None,
    zero: int,
) -> tuple[list[TrainingRow], dict[str, Any]]:
    rows: list[TrainingRow] = []
    estimates: dict[str, Any] = {}
    for p in priced:
        precision = "bf16" if p.spec.supports("bf16") else "fp16" if p.spec.supports("fp16") else "fp32"
        try:
            est = estimate_training(
                TrainingPlan(
                    model=spec,
                    training_tokens=tokens,
                    accelerator=p.spec,
                    gpu_count=gpus,
                    precision=precision,
                    mfu_fraction=mfu,
                    price_usd_per_gpu_hour=p.usd_per_gpu_hour,
                    parallelism=_layout(p, gpus, tp, pp, zero),
                )
            )
        except ValueError:
            continue
        estimates[p.row.name] = est
        rows.append(
            TrainingRow(
                p.row.name,
                p.usd_per_gpu_hour,
                gpus,
                est.gpu_hours,
                est.wall_clock_days,
                est.cost_usd,
                est.energy_kwh,
                est.fits_in_memory,
                est.minimum_gpu_count,
            )
        )
    return rows, estimates


def _serving(
    spec: Any, priced: list[PricedAccelerator], utilization: float, tpot_s: float | None, ttft_s: float | None
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], str], float]:
    """Cheapest feasible plan per (accelerator, precision) from one vectorised sweep: the plan search every
    caller shares (GPUs per replica 1-8, the engine's concurrency grid), so a cell's $/1M is the Strategy
    lab's and the simulator's for the same inputs."""
    labels = list(QUANTIZATIONS)
    language = spec.uses_kv_cache
    table = sweep_serving(
        spec,
        [p.spec for p in priced],
        list(QUANTIZATIONS.values()),
        GPUS_PER_REPLICA,
        None,
        np.array([p.usd_per_gpu_hour for p in priced]),
        pricing_model_names=["on_demand"],
        time_to_first_token_target_s=ttft_s if language else None,
        time_per_output_token_target_s=tpot_s if language else None,
        utilization_fraction=utilization,
    )
    scale = 1.0 if language else 1e-3  # the engine's non-language cost is per 1M units; show per 1,000
    costs: dict[tuple[str, str], float] = {}
    details: dict[tuple[str, str], str] = {}
    cols = table.columns
    for i in range(len(table)):  # sorted by cost: the first row per cell is its cheapest plan
        key = (str(cols["accelerator"][i]), labels[int(cols["quantization_index"][i])])
        if key in costs:
            continue
        costs[key] = float(cols["cost_usd_per_million_output_tokens"][i]) * scale
        details[key] = (
            f"{int(cols['gpus_per_replica'][i])} GPU(s) per replica, "
            f"{int(cols['batch_size'][i])} requests in flight, "
            f"{cols['output_tokens_per_second_per_gpu'][i]:,.0f} output {spec.unit_name}s/s per GPU "
            f"(prompts counted), TTFT {cols['time_to_first_token_s'][i]:.2g} s, "
            f"TPOT {cols['time_per_output_token_s'][i] * 1000:.0f} ms"
        )
    return costs, details, scale


def unit_plural(unit_name: str | None) -> str:
    """What a model is trained and served on, in words: tokens, images, requests, audio seconds."""
    words = (unit_name or "token").replace("_", " ").strip() or "token"
    return words if words.endswith("s") else words + "s"


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, session: SessionDep) -> HTMLResponse:
    params = dict(request.query_params)
    configs = list(session.scalars(select(ModelConfig).order_by(ModelConfig.parameter_count)))
    selected = next((m for m in configs if str(m.id) == params.get("model")), None)
    if selected is None:
        selected = next((m for m in configs if m.name == "Llama 3.1 70B"), configs[0] if configs else None)
    errors = FormErrors()
    # The API's bounds (POST /api/v1/estimates/training), so the page accepts what the API accepts.
    gpu_low, gpu_high = schema_bounds(TrainingRequest, "gpu_count")
    token_low, token_high = schema_bounds(TrainingRequest, "training_tokens")
    mfu_low, mfu_high = schema_bounds(TrainingRequest, "mfu")
    gpus = (
        parse_int(
            params,
            "gpus",
            errors,
            low=int(gpu_low or 1),
            high=int(gpu_high or 1e6),
            default=DEFAULTS["gpus"],
            empty_is_error=True,
        )
        or DEFAULTS["gpus"]
    )
    utilization = parse_float(
        params,
        "utilization",
        errors,
        low=0.01,
        high=1.0,
        default=DEFAULTS["utilization"],
        fraction=True,
        empty_is_error=True,
    )
    tpot_ms = parse_float(
        params, "tpot_ms", errors, low=1, high=10_000, default=DEFAULTS["tpot_ms"], empty_is_error=True
    )
    ttft_s = parse_float(
        params, "ttft_s", errors, low=0.01, high=600, default=DEFAULTS["ttft_s"], empty_is_error=True
    )
    # Blank tensor and pipeline degrees: the engine chooses the layout.
    tp = parse_int(params, "tp", errors, low=1, high=64) if (params.get("tp") or "").strip() else None
    pp = parse_int(params, "pp", errors, low=1, high=256) if (params.get("pp") or "").strip() else None
    zero = parse_int(params, "zero", errors, low=0, high=3, default=DEFAULTS["zero"]) or 0
    if "gpus" not in errors and (tp or pp) and gpus % ((tp or 1) * (pp or 1)):
        errors["gpus"] = f"Must be a multiple of tensor × pipeline parallel = {(tp or 1) * (pp or 1)}."
    mfu = parse_float(
        params, "mfu", errors, low=max(0.01, mfu_low or 0), high=mfu_high, required=False, fraction=True
    )
    tokens = parse_float(
        params, "tokens", errors, low=token_low, high=token_high, required=False, suffixes=True
    )
    context: dict[str, Any] = {
        "active_nav": "models",
        "configs": configs,
        "units": {m.id: unit_plural(m.unit_name) for m in configs},
        "selected": selected,
        "errors": errors,
        "form": params,
        "defaults": DEFAULTS,
    }
    if selected is None or errors:
        return render(request, "models.html", context, status_code=422 if errors else 200)

    spec = model_spec(selected)
    priced = priced_accelerators(session, date.today())
    tokens = tokens or selected.training_tokens
    context["tokens"] = tokens
    if tokens:
        # A training cluster is priced on instances of 8 GPUs where the part has them (not a one-GPU offer).
        cluster_priced = priced_accelerators(
            session, date.today(), min_accelerators_per_instance=min(gpus, 8)
        )
        rows, estimates = _training_rows(spec, tokens, cluster_priced, gpus, mfu, tp, pp, zero)
        context["training_chart"] = training_cost_chart(selected.name, rows)
        ranked = sorted(rows, key=lambda r: (not r.fits_in_memory, r.cost_usd or math.inf))
        focus = (
            params.get("accelerator")
            if params.get("accelerator") in estimates
            else (ranked[0].accelerator if ranked else None)
        )
        if focus:
            est = estimates[focus]
            context["focus"] = focus
            context["focus_estimate"] = est
            context["memory_chart"] = training_memory_chart(
                focus,
                {
                    "weights": est.memory.weights_gb,
                    "gradients": est.memory.gradients_gb,
                    "optimizer state": est.memory.optimizer_gb,
                    "activations": est.memory.activations_gb,
                },
                est.memory.available_gb,
            )
    costs, details, scale = _serving(spec, priced, utilization or 0.5, (tpot_ms or 50) / 1000, ttft_s)
    unit_label = "per 1M output tokens" if spec.uses_kv_cache else f"per 1,000 {spec.unit_name}s"
    names = [p.row.name for p in priced]
    context["serving_chart"] = serving_heatmap(
        selected.name, unit_label, names, list(QUANTIZATIONS), costs, details
    )
    mine = measurements_service.listing(session, model_id=selected.id, limit=50)
    context.update(
        measurements=mine,
        measurement_fits=measurements_service.fit(mine),
        measurements_where=f" for {selected.name}",
    )
    context["priced"] = priced
    context["unpriced"] = sorted(
        set(session.scalars(select(Accelerator.name))) - {p.row.name for p in priced}
    )
    context["gpus"] = gpus
    return render(request, "models.html", context)
