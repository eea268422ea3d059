"""Calibration on the user's own measurements (issue 10).

A measurement is observed throughput: training tokens per second of a whole run, or serving output tokens per
second of one replica. Each is checked against the roofline (a physically impossible number is refused with
the reason), stored, and compared with what the engine predicts for the same model, accelerator, GPUs and
precisions. Per accelerator and kind, the efficiency factor k minimises Σ (measured − k · predicted)² (least
squares through the origin: k = Σ m·p / Σ p²); its relative residuals m / (k·p) − 1 are shown with N. A
training estimate that opts in (`calibrated: true`) multiplies its MFU by k; a serving estimate that opts in
runs every part of its iterations k times as fast (output tokens/s × k, $/1M ÷ k at the same concurrency);
both say "calibrated from N measurements"; without measurements of that kind the opt-in is a 422.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.measurements import Measurement
from app.db.models import Accelerator, ModelConfig
from app.engine.hardware import UnsupportedPrecision, bytes_per_value
from app.engine.parallelism import LayoutInfeasible
from app.engine.serving import ServingPlan, estimate_serving
from app.engine.training import TRAINING_PRECISIONS, TrainingPlan, estimate_training
from app.services import crud
from app.services.errors import NotFoundError, ValidationFailed
from app.services.estimates import spec_of_model_row, spec_of_row


@dataclass(frozen=True)
class Fit:
    """The fitted efficiency factor of one accelerator and kind."""

    accelerator: str
    kind: str
    factor: float
    count: int
    residuals: tuple[float, ...]

    @property
    def rms_residual(self) -> float:
        return math.sqrt(sum(r * r for r in self.residuals) / len(self.residuals)) if self.residuals else 0.0

    @property
    def label(self) -> str:
        return (
            f"calibrated from {self.count} measurement{'s' if self.count != 1 else ''} "
            f"on {self.accelerator}: "
            f"efficiency factor {self.factor:.3f} (least squares; rms residual {self.rms_residual:.1%})"
        )


def _rows(session: Session, measurement: Measurement) -> tuple[ModelConfig, Accelerator]:
    model = session.get(ModelConfig, measurement.model_config_id)
    acc = session.get(Accelerator, measurement.accelerator_id)
    assert model is not None and acc is not None  # foreign keys
    return model, acc


def predicted_tokens_per_second(model_row: ModelConfig, acc_row: Accelerator, m: Mapping[str, Any]) -> float:
    """What the engine predicts for this measurement's setting, at its defaults (uncalibrated)."""
    spec, acc = spec_of_model_row(model_row), spec_of_row(acc_row)
    if m["kind"] == "training":
        est = estimate_training(
            TrainingPlan(
                model=spec,
                training_tokens=1e12,
                accelerator=acc,
                gpu_count=int(m["gpu_count"]),
                precision=m.get("precision") or "bf16",
            )
        )
        return 1e12 / (est.wall_clock_days * 86_400.0)
    serving = estimate_serving(
        ServingPlan(
            model=spec,
            accelerator=acc,
            gpus_per_replica_count=int(m["gpu_count"]),
            weight_precision=m.get("precision") or "bf16",
            activation_precision=m.get("activation_precision") or m.get("precision") or "bf16",
            kv_cache_precision=m.get("kv_cache_precision") or m.get("precision") or "bf16",
            batch_size_count=m.get("concurrency"),
            prompt_token_count=int(m.get("prompt_token_count") or 1024),
            output_token_count=int(m.get("output_token_count") or 256),
        )
    )
    return float(serving.output_tokens_per_second)


def check_roofline(model_row: ModelConfig, acc_row: Accelerator, m: Mapping[str, Any]) -> None:
    """Refuse what no run can do: FLOPs above the GPUs' peak at the precision, weights that do not fit."""
    spec, acc = spec_of_model_row(model_row), spec_of_row(acc_row)
    gpus = int(m["gpu_count"])
    rate = float(m["tokens_per_second"])
    field = "tokens_per_second"
    if m["kind"] == "training":
        precision = m.get("precision") or "bf16"
        if precision not in TRAINING_PRECISIONS:
            raise ValidationFailed(
                f"training precision must be one of {TRAINING_PRECISIONS}", field="precision"
            )
        try:
            peak = acc.peak_tflops_for(precision)
        except UnsupportedPrecision as error:
            raise ValidationFailed(str(error), field="precision") from error
        per_gpu = 3.0 * spec.forward_flops_per_unit * rate / gpus / 1e12
        if per_gpu > peak:
            raise ValidationFailed(
                f"above the roofline: {rate:,.0f} tokens/s on {gpus:,} GPUs is {per_gpu:,.0f} model TFLOP/s "
                f"per GPU (6·N·tokens/s), more than the {precision} peak of {acc.name} ({peak:g} TFLOP/s)",
                field=field,
            )
        return
    weights = m.get("precision") or "bf16"
    activations = m.get("activation_precision") or weights
    try:
        peak = acc.peak_tflops_for(activations)
        weight_bytes = spec.parameter_count * bytes_per_value(weights)
    except (UnsupportedPrecision, ValueError) as error:
        raise ValidationFailed(str(error), field="activation_precision") from error
    if weight_bytes > gpus * acc.memory_bytes:
        raise ValidationFailed(
            f"impossible: {weights} weights take {weight_bytes / 1e9:,.0f} GB, more than {gpus} × "
            f"{acc.memory_gb:g} GB of {acc.name}",
            field="gpu_count",
        )
    prompt = int(m.get("prompt_token_count") or 0)
    output = int(m.get("output_token_count") or 1)
    flops_per_output = spec.forward_flops_per_unit * (prompt + output) / output
    needed = rate * flops_per_output / gpus / 1e12
    if needed > peak:
        raise ValidationFailed(
            f"above the roofline: {rate:,.0f} output tokens/s with {prompt:,}-token prompts needs "
            f"{needed:,.0f} TFLOP/s per GPU (2·N per prompt and output token), more than the {activations} "
            f"peak of {acc.name} ({peak:g} TFLOP/s)",
            field=field,
        )


def create(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and store one measurement (editors). Returns it with the engine's prediction."""
    model_row = session.get(ModelConfig, values["model_id"])
    if model_row is None:
        raise NotFoundError(f"model configuration {values['model_id']} does not exist", field="model_id")
    acc_row = session.get(Accelerator, values["accelerator_id"])
    if acc_row is None:
        raise NotFoundError(f"accelerator {values['accelerator_id']} does not exist", field="accelerator_id")
    data = {k: v for k, v in values.items() if k != "model_id"}
    data["model_config_id"] = values["model_id"]
    if data.get("tokens_per_second") is None:
        step, per_step = data.pop("step_time_s", None), data.pop("tokens_per_step", None)
        if not (step and per_step):
            raise ValidationFailed(
                "give tokens_per_second, or step_time_s with tokens_per_step", field="tokens_per_second"
            )
        data["tokens_per_second"] = per_step / step
    data.pop("step_time_s", None)
    data.pop("tokens_per_step", None)
    check_roofline(model_row, acc_row, data)
    try:
        predicted = predicted_tokens_per_second(model_row, acc_row, data)
    except (ValueError, LayoutInfeasible) as error:
        raise ValidationFailed(
            f"the engine cannot evaluate this setting: {error}", field="gpu_count"
        ) from error
    row = crud.create_row(session, Measurement, data)
    return _read(row, model_row, acc_row, predicted)


def _read(
    row: Measurement, model_row: ModelConfig, acc_row: Accelerator, predicted: float | None
) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "model_id": row.model_config_id,
        "model_name": model_row.name,
        "accelerator_id": row.accelerator_id,
        "accelerator_name": acc_row.name,
        "gpu_count": row.gpu_count,
        "precision": row.precision,
        "activation_precision": row.activation_precision,
        "kv_cache_precision": row.kv_cache_precision,
        "prompt_token_count": row.prompt_token_count,
        "output_token_count": row.output_token_count,
        "concurrency": row.concurrency,
        "tokens_per_second": row.tokens_per_second,
        "predicted_tokens_per_second": predicted,
        "ratio_to_engine": (row.tokens_per_second / predicted) if predicted else None,
        "measured_on": row.measured_on.isoformat(),
        "source": row.source,
        "notes": row.notes,
        "version": row.version,
    }


def listing(
    session: Session, accelerator_id: int | None = None, model_id: int | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Measurements (newest first) with the engine's prediction for each."""
    query = select(Measurement).order_by(Measurement.measured_on.desc(), Measurement.id.desc()).limit(limit)
    if accelerator_id is not None:
        query = query.where(Measurement.accelerator_id == accelerator_id)
    if model_id is not None:
        query = query.where(Measurement.model_config_id == model_id)
    out = []
    for row in session.scalars(query):
        model_row, acc_row = _rows(session, row)
        try:
            predicted: float | None = predicted_tokens_per_second(model_row, acc_row, _as_values(row))
        except (ValueError, LayoutInfeasible):
            predicted = None
        out.append(_read(row, model_row, acc_row, predicted))
    return out


def _as_values(row: Measurement) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "gpu_count": row.gpu_count,
        "precision": row.precision,
        "activation_precision": row.activation_precision,
        "kv_cache_precision": row.kv_cache_precision,
        "concurrency": row.concurrency,
        "prompt_token_count": row.prompt_token_count,
        "output_token_count": row.output_token_count,
    }


def fit(items: Sequence[Mapping[str, Any]]) -> list[Fit]:
    """Least-squares efficiency factor per (accelerator, kind) over measurements with a prediction."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for item in items:
        if item.get("predicted_tokens_per_second"):
            key = (str(item["accelerator_name"]), str(item["kind"]))
            groups.setdefault(key, []).append(
                (float(item["tokens_per_second"]), float(item["predicted_tokens_per_second"]))
            )
    fits = []
    for (acc, kind), pairs in sorted(groups.items()):
        factor = sum(m * p for m, p in pairs) / sum(p * p for _, p in pairs)
        residuals = tuple(m / (factor * p) - 1.0 for m, p in pairs)
        fits.append(Fit(acc, kind, factor, len(pairs), residuals))
    return fits


def kind_fit(session: Session, accelerator_name: str, kind: str) -> Fit | None:
    """The fitted factor of one accelerator for one kind ("training" or "serving"), or None without
    measurements of that kind (or when the engine could evaluate none of them)."""
    acc = session.scalars(select(Accelerator).where(Accelerator.name == accelerator_name)).first()
    if acc is None:
        return None
    query = select(Measurement.id).where(Measurement.accelerator_id == acc.id, Measurement.kind == kind)
    if session.scalars(query.limit(1)).first() is None:
        return None
    items = [i for i in listing(session, accelerator_id=acc.id) if i["kind"] == kind]
    fits = fit(items)
    return fits[0] if fits else None


def training_fit(session: Session, accelerator_name: str) -> Fit | None:
    """The training factor of one accelerator, or None without measurements."""
    return kind_fit(session, accelerator_name, "training")


def serving_fit(session: Session, accelerator_name: str) -> Fit | None:
    """The serving factor (measured ÷ predicted output tokens/s) of one accelerator, or None."""
    return kind_fit(session, accelerator_name, "serving")
