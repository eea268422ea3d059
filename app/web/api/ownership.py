"""Owning versus renting accelerators over REST: POST /api/v1/estimates/ownership."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.services import ownership
from app.web.api.estimates import ERRORS
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.schemas import STRICT, IsoDate, PricingModel, RowId

router = APIRouter(
    prefix="/estimates", tags=["estimates"], responses=ERRORS, dependencies=[require_role("viewer")]
)

Fraction = Annotated[float, Field(ge=0, le=10)]


class OwnershipRequestBody(BaseModel):
    """A cluster you would buy; the optional costs default to what the answer's assumptions list."""

    model_config = ConfigDict(**STRICT)

    accelerator_id: RowId
    gpu_count: Annotated[int, Field(gt=0, le=1_000_000)]
    purchase_usd_per_gpu: Annotated[float, Field(gt=0, le=10_000_000)]
    depreciation_years: Annotated[float, Field(gt=0, le=30)]
    power_usd_per_kwh: Annotated[float, Field(ge=0, le=10)]
    pue: Annotated[float, Field(ge=1, le=5)]
    utilization: Annotated[float, Field(gt=0, le=1, description="Busy fraction of the hours, 0.5 = 50 %")]
    server_overhead_fraction: Fraction | None = None
    colocation_usd_per_kw_month: Annotated[float, Field(ge=0, le=100_000)] | None = None
    staff_usd_per_year: Annotated[float, Field(ge=0, le=1e10)] | None = None
    financing_rate_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    board_power_w: Annotated[float, Field(gt=0, le=100_000)] | None = None
    rental_pricing_model: PricingModel = "on_demand"
    as_of: IsoDate | None = None


@router.post("/ownership")
def ownership_estimate(body: OwnershipRequestBody, session: SessionDep) -> dict[str, Any]:
    """USD per used GPU-hour of owned hardware with its breakdown, the break-even utilisation against the
    cheapest comparable rental (named) and the months to break even."""
    return ownership.estimate(session, ownership.OwnershipRequest(**body.model_dump()))
