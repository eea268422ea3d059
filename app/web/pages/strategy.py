"""Strategy lab: the article's four levers side by side against a baseline, each with its inputs, for one
model on one accelerator; the article's formulas and worked example next to the physical model.

All numbers come from the cost engine (lever_strategies, mixed_precision_time_s, article_formulas)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ModelConfig
from app.engine.article import article_formulas, mixed_precision_cost
from app.engine.precision import mixed_precision_time_s
from app.engine.strategies import LEVERS, LeverParameters, lever_strategies
from app.web.charts.strategy import (
    LEVER_LABELS,
    StrategyPoint,
    days_text,
    fmt_delta,
    lever_delta_chart,
    mixed_precision_chart,
    serving_text,
    strategy_scatter_chart,
)
from app.web.deps import SessionDep
from app.web.formatting import usd
from app.web.pages.engine_inputs import model_spec, priced_accelerators
from app.web.pages.forms import FormErrors, parse_float, parse_int
from app.web.pages.live import canonical_url, live_errors, live_json
from app.web.pages.render import render

router = APIRouter()

_LP = LeverParameters()
DEFAULTS: dict[str, Any] = {
    "model": "Llama 3.1 70B",
    "accelerator": "H100-SXM",
    "price": "",
    # Blank: the engine's choice (a sensible cluster; 4× it; the part's network; quality unknown).
    "baseline_gpu_count": "",
    "distributed_gpu_count": "",
    "inter_node_bandwidth_gb_s": "",
    "half_precision_fraction": _LP.half_precision_fraction,
    "fine_tune_fraction_of_tokens": _LP.fine_tune_fraction_of_tokens,
    "fine_tune_method": _LP.fine_tune_method,
    "transfer_quality_delta_points": "",
    "quantized_weight_precision": _LP.quantized_weight_precision,
    "quantized_kv_precision": _LP.quantized_kv_precision,
    "quantization_quality_loss_points": _LP.quantization_quality_loss_points,
    "utilization_fraction": _LP.utilization_fraction,
}
WEIGHT_PRECISIONS = ("int8", "int4", "fp8")
KV_PRECISIONS = ("bf16", "fp8", "int8", "int4")
METHODS = ("full", "lora")


def _inputs(
    params: dict[str, str], models: list[ModelConfig], accelerator_names: list[str]
) -> tuple[dict[str, Any], FormErrors]:
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["model"] = params.get("model") or DEFAULTS["model"]
    if v["model"] not in {m.name for m in models}:
        errors["model"] = f"No model configuration named “{v['model']}”."
    v["accelerator"] = params.get("accelerator") or DEFAULTS["accelerator"]
    if v["accelerator"] not in accelerator_names:
        if "accelerator" in params:
            errors["accelerator"] = f"“{v['accelerator']}” has no on-demand price on today's sheet."
        elif accelerator_names:
            v["accelerator"] = accelerator_names[0]
    v["price"] = parse_float(params, "price", errors, low=0, strict_low=True, required=False)
    # Blank: None, the engine's choice.
    v["baseline_gpu_count"] = _optional_int(params, "baseline_gpu_count", errors, low=1, high=65_536)
    v["distributed_gpu_count"] = _optional_int(params, "distributed_gpu_count", errors, low=2, high=65_536)
    v["inter_node_bandwidth_gb_s"] = parse_float(
        params, "inter_node_bandwidth_gb_s", errors, low=0.1, high=1000, required=False
    )
    v["half_precision_fraction"] = parse_float(
        params, "half_precision_fraction", errors, low=0, high=1, default=DEFAULTS["half_precision_fraction"]
    )
    v["fine_tune_fraction_of_tokens"] = parse_float(
        params,
        "fine_tune_fraction_of_tokens",
        errors,
        low=1e-6,
        high=1,
        default=DEFAULTS["fine_tune_fraction_of_tokens"],
    )
    v["fine_tune_method"] = params.get("fine_tune_method") or DEFAULTS["fine_tune_method"]
    if v["fine_tune_method"] not in METHODS:
        errors["fine_tune_method"] = "Choose full or lora."
    v["transfer_quality_delta_points"] = parse_float(
        params, "transfer_quality_delta_points", errors, low=-100, high=100, required=False
    )
    v["quantized_weight_precision"] = (
        params.get("quantized_weight_precision") or DEFAULTS["quantized_weight_precision"]
    )
    if v["quantized_weight_precision"] not in WEIGHT_PRECISIONS:
        errors["quantized_weight_precision"] = "Choose int8, int4 or fp8."
    v["quantized_kv_precision"] = params.get("quantized_kv_precision") or DEFAULTS["quantized_kv_precision"]
    if v["quantized_kv_precision"] not in KV_PRECISIONS:
        errors["quantized_kv_precision"] = "Choose bf16, fp8, int8 or int4."
    v["quantization_quality_loss_points"] = parse_float(
        params,
        "quantization_quality_loss_points",
        errors,
        low=0,
        high=100,
        default=DEFAULTS["quantization_quality_loss_points"],
    )
    v["utilization_fraction"] = parse_float(
        params, "utilization_fraction", errors, low=0.01, high=1, default=DEFAULTS["utilization_fraction"]
    )
    return v, errors


def _optional_int(
    params: dict[str, str], name: str, errors: FormErrors, *, low: int, high: int
) -> int | None:
    """A whole number, or None when blank (the engine chooses)."""
    if not (params.get(name) or "").strip():
        return None
    return parse_int(params, name, errors, low=low, high=high)


def _point(s: Any) -> StrategyPoint:
    return StrategyPoint(
        s.name,
        s.levers,
        s.one_off_training_usd,
        s.training_days,
        s.unit_cost_usd_per_million_tokens,
        s.quality_delta_points,
    )


def _compute(session: Session, params: dict[str, str]) -> tuple[dict[str, Any], FormErrors]:
    models = list(session.scalars(select(ModelConfig).order_by(ModelConfig.parameter_count)))
    # A training cluster is priced on an instance of 8 GPUs where the part has one, not a one-GPU offer.
    priced = priced_accelerators(session, date.today(), min_accelerators_per_instance=8)
    by_name = {p.row.name: p for p in priced}
    values, errors = _inputs(params, models, list(by_name))
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "models": models,
        "accelerators": list(by_name),
        "weight_precisions": WEIGHT_PRECISIONS,
        "kv_precisions": KV_PRECISIONS,
        "methods": METHODS,
        "defaults": DEFAULTS,
    }
    if errors:
        return context, errors
    row = next(m for m in models if m.name == values["model"])
    acc = by_name[values["accelerator"]]
    price = values["price"] or acc.usd_per_gpu_hour
    parameters = LeverParameters(
        baseline_gpu_count=values["baseline_gpu_count"],
        distributed_gpu_count=values["distributed_gpu_count"],
        inter_node_bandwidth_gb_s=values["inter_node_bandwidth_gb_s"],
        half_precision_fraction=values["half_precision_fraction"],
        fine_tune_fraction_of_tokens=values["fine_tune_fraction_of_tokens"],
        fine_tune_method=values["fine_tune_method"],
        transfer_quality_delta_points=values["transfer_quality_delta_points"],
        quantized_weight_precision=values["quantized_weight_precision"],
        quantized_kv_precision=values["quantized_kv_precision"],
        quantization_quality_loss_points=values["quantization_quality_loss_points"],
        utilization_fraction=values["utilization_fraction"],
    )
    try:
        strategies = lever_strategies(
            model_spec(row), acc.spec, price, training_tokens=row.training_tokens, parameters=parameters
        )
    except ValueError as exc:
        errors["model"] = f"The engine cannot evaluate this combination: {exc}"
        return context, errors
    points = [_point(s) for s in strategies]
    baseline = points[0]
    singles = [p for p in points if len(p.levers) == 1]
    cards = []
    for lever in LEVERS:
        p = next(x for x in singles if lever in x.levers)
        cards.append(
            {
                "lever": lever,
                "label": LEVER_LABELS[lever],
                "training": usd(p.training_usd),
                "training_delta": fmt_delta(p.training_usd, baseline.training_usd),
                "days": days_text(p.training_days),
                "days_delta": fmt_delta(p.training_days, baseline.training_days, money=False, unit=" days"),
                "serving": serving_text(p.serving_usd_per_million),
                "serving_delta": fmt_delta(p.serving_usd_per_million, baseline.serving_usd_per_million),
                "quality": "unknown (not given)"
                if lever == "transfer" and values["transfer_quality_delta_points"] is None
                else f"{p.quality_delta_points:+.1f} points",
            }
        )
    fractions = [i / 20 for i in range(21)]
    f = values["half_precision_fraction"]
    ops = 1e18
    half = "bf16" if acc.spec.supports("bf16") else "fp16"
    chart_list = [lever_delta_chart(baseline, singles), strategy_scatter_chart(points)]
    if acc.spec.supports(half) and acc.spec.supports("fp32"):
        fp32_time = mixed_precision_time_s(ops, acc.spec, 0.0, half_precision=half)
        physical = [
            mixed_precision_time_s(ops, acc.spec, x, half_precision=half) / fp32_time for x in fractions
        ]
        article = [mixed_precision_cost(ops, x) / ops for x in fractions]
        chart_list.append(
            mixed_precision_chart(
                acc.row.name,
                fractions,
                physical,
                article,
                f,
                mixed_precision_time_s(ops, acc.spec, f, half_precision=half) / fp32_time,
                mixed_precision_cost(ops, f) / ops,
            )
        )
    fragments = {
        "baseline-training": usd(baseline.training_usd),
        "baseline-days": days_text(baseline.training_days),
        "baseline-serving": serving_text(baseline.serving_usd_per_million),
        "baseline-cluster": f"{strategies[0].training_gpu_count:,} GPUs, {strategies[0].training_layout}",
        "price-used": usd(price),
    }
    for card in cards:
        for key in (
            "training",
            "training_delta",
            "days",
            "days_delta",
            "serving",
            "serving_delta",
            "quality",
        ):
            fragments[f"lever-{card['lever']}-{key}"] = card[key]
    shown = {k: ("" if v is None else v) for k, v in values.items()}
    context.update(
        {
            "charts": chart_list,
            "cards": cards,
            "baseline": baseline,
            "price": price,
            "row": row,
            "acc": acc,
            "fragments": fragments,
            "assumptions": strategies[0].assumptions,
            "url": canonical_url("/strategy", shown, DEFAULTS),
            "article": article_formulas(acc.spec)
            if acc.spec.supports("bf16") and acc.spec.supports("fp32")
            else article_formulas(),
            "finite": math.isfinite,
        }
    )
    return context, errors


@router.get("/strategy", response_class=HTMLResponse)
def strategy(request: Request, session: SessionDep) -> HTMLResponse:
    context, errors = _compute(session, dict(request.query_params))
    context.update(active_nav="strategy", form=dict(request.query_params))
    return render(request, "strategy.html", context, status_code=422 if errors else 200)


@router.get("/strategy/data")
def strategy_data(request: Request, session: SessionDep) -> Response:
    """The live refresh of /strategy for charts.js (JSON; same inputs, same engine calls)."""
    context, errors = _compute(session, dict(request.query_params))
    if errors:
        return live_errors(errors)
    return live_json(context["charts"], context["fragments"], context["url"])
