"""Your own throughput measurements over REST (issue 10): POST /api/v1/measurements (editors) stores one after
checking it against the roofline; GET /api/v1/measurements lists them with the engine's prediction and the
per-accelerator efficiency factors fitted on them (least squares, with N and residuals)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from app.engine.hardware import Precision
from app.services import measurements
from app.web.api.estimates import ERRORS
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.schemas import IsoDate, RowId, StrictModel

router = APIRouter(prefix="/measurements", tags=["measurements"], responses=ERRORS)


class MeasurementCreate(StrictModel):
    """One observation. training: tokens per second of the whole run (or step_time_s with tokens_per_step);
    serving: output tokens per second of one replica of gpu_count GPUs."""

    kind: Literal["training", "serving"]
    model_id: RowId
    accelerator_id: RowId
    gpu_count: Annotated[int, Field(gt=0, le=1_000_000)]
    precision: Precision = Field(
        default="bf16", description="Training precision, or serving weight precision"
    )
    activation_precision: Precision | None = None
    kv_cache_precision: Precision | None = None
    prompt_token_count: Annotated[int, Field(gt=0, le=10_000_000)] | None = None
    output_token_count: Annotated[int, Field(gt=0, le=10_000_000)] | None = None
    concurrency: Annotated[int, Field(gt=0, le=65_536)] | None = None
    tokens_per_second: Annotated[float, Field(gt=0, le=1e15)] | None = None
    step_time_s: Annotated[float, Field(gt=0, le=1e7)] | None = None
    tokens_per_step: Annotated[float, Field(gt=0, le=1e12)] | None = None
    measured_on: IsoDate
    source: Annotated[str, Field(max_length=2000)] = ""
    notes: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _rate(self) -> MeasurementCreate:
        if self.tokens_per_second is None and (self.step_time_s is None or self.tokens_per_step is None):
            raise ValueError("give tokens_per_second, or step_time_s with tokens_per_step")
        if self.kind == "serving" and (self.prompt_token_count is None or self.output_token_count is None):
            raise ValueError("a serving measurement needs prompt_token_count and output_token_count")
        return self


class MeasurementRead(BaseModel):
    id: int
    kind: str
    model_id: int
    model_name: str
    accelerator_id: int
    accelerator_name: str
    gpu_count: int
    precision: str
    activation_precision: str | None
    kv_cache_precision: str | None
    prompt_token_count: int | None
    output_token_count: int | None
    concurrency: int | None
    tokens_per_second: float
    predicted_tokens_per_second: float | None = Field(description="The engine at its defaults, uncalibrated")
    ratio_to_engine: float | None
    measured_on: str
    source: str
    notes: str
    version: int


class FitRead(BaseModel):
    accelerator: str
    kind: str
    factor: float = Field(description="k minimising Σ (measured − k·predicted)²")
    count: int
    residuals: list[float] = Field(description="measured / (k·predicted) − 1, one per measurement")
    rms_residual: float
    label: str


class MeasurementsRead(BaseModel):
    items: list[MeasurementRead]
    calibration: list[FitRead]


EDITORS = [require_role("editor")]


@router.post("", response_model=MeasurementRead, status_code=201, dependencies=EDITORS)
def create_measurement(body: MeasurementCreate, session: SessionDep) -> dict[str, Any]:
    """Store a measurement; one above the roofline (or whose weights cannot fit) is a 422 with the reason."""
    return measurements.create(session, body.model_dump(exclude_none=True))


@router.get("", response_model=MeasurementsRead, dependencies=[require_role("viewer")])
def list_measurements(
    session: SessionDep,
    accelerator_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
    model_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """Measurements, newest first, with the engine's prediction, and the fitted efficiency factors."""
    items = measurements.listing(session, accelerator_id, model_id)
    fits = measurements.fit(items)
    return {
        "items": items,
        "calibration": [
            {
                "accelerator": f.accelerator,
                "kind": f.kind,
                "factor": f.factor,
                "count": f.count,
                "residuals": list(f.residuals),
                "rms_residual": f.rms_residual,
                "label": f.label,
            }
            for f in fits
        ],
    }
