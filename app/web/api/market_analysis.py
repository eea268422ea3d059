"""Price-war analysis beside the Monte Carlo run: where prices settle if everyone prices rationally, our
profit against our price, and what flips the headline answer. Same request body as /simulations/preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.services import market_analysis
from app.web.api.simulations import ERRORS, READ, Label, SimulationRequest
from app.web.deps import SessionDep
from app.web.schemas import StrictModel

router = APIRouter(prefix="/simulations", tags=["simulations"], responses=ERRORS)


class AnalysisRequest(SimulationRequest):
    strategy: Label | None = Field(default=None, description="Our strategy (unit cost); default: the first")


class FlipsInput(StrictModel):
    strategy: Label | None = Field(default=None, description="Default: the first strategy (the baseline)")
    paths_count: Annotated[int, Field(ge=50, le=5_000)] = 500
    steps: Annotated[int, Field(ge=2, le=16)] = 8
    level_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5


class FlipsRequest(SimulationRequest):
    flips: FlipsInput | None = None


class FirmPriceRead(BaseModel):
    name: str
    price_usd_per_million_tokens: float
    share_fraction: float = Field(description="Of every seller's volume (other providers included)")
    margin_fraction: float
    unit_cost_usd_per_million_tokens: float
    gross_profit_usd_per_month: float


class EquilibriumMonthRead(BaseModel):
    converged: bool
    iterations: int
    month: int
    firms: list[FirmPriceRead] = Field(description="Ours first, then every rival")
    other_providers_share_fraction: float
    volume_million_tokens_per_month: float


class EquilibriumRead(EquilibriumMonthRead):
    strategy: str
    at_horizon: EquilibriumMonthRead = Field(description="The same at the horizon, as costs have fallen")


class CurveRead(BaseModel):
    month: int
    unit_cost_usd_per_million_tokens: float
    rival_prices_usd_per_million_tokens: list[float]
    prices_usd_per_million_tokens: list[float]
    gross_profit_usd_per_month: list[float]
    profit_max_price_usd_per_million_tokens: float
    simulated_price_usd_per_million_tokens: float | None = Field(
        default=None, description="Our simulated median price that month, for comparison"
    )


class ProfitCurveRead(BaseModel):
    strategy: str
    month_1: CurveRead
    horizon: CurveRead


class FlipRead(BaseModel):
    input: str
    now: float
    low: float
    high: float
    survival_at_low: float
    survival_at_high: float
    threshold: float | None = Field(description="Where P(survive) crosses the level; null: never in range")
    falls_below_when: str | None = Field(description="above or below the threshold")
    distance_fraction: float | None


class FlipsRead(BaseModel):
    strategy: str
    level_fraction: float
    survival_probability: float
    paths_count: int
    flips: list[FlipRead]
    closest: list[str] = Field(
        description="The (up to) three inputs whose threshold is nearest today's value"
    )


@router.post(
    "/equilibrium",
    response_model=EquilibriumRead,
    dependencies=READ,
    summary="Where prices settle if everyone prices rationally (logit-Bertrand Nash prices)",
    description="Damped fixed-point iteration on every firm's best response, from the simulator's own demand "
    "model at central values, in month 1 and at the horizon. A subsidised rival never prices below its "
    "floor.",
)
def equilibrium(body: AnalysisRequest, session: SessionDep) -> dict[str, Any]:
    return market_analysis.equilibrium_view(session, body.model_dump(exclude_none=True))


@router.post(
    "/profit-curve",
    response_model=ProfitCurveRead,
    dependencies=READ,
    summary="Our gross profit against our price, month 1 and horizon, against the rivals' median prices",
)
def profit_curve(body: AnalysisRequest, session: SessionDep) -> dict[str, Any]:
    return market_analysis.profit_curve_preview(session, body.model_dump(exclude_none=True))


@router.post(
    "/flips",
    response_model=FlipsRead,
    dependencies=READ,
    summary="What flips the answer: where P(survive) crosses 50 % for each uncertain input",
)
def flips(body: FlipsRequest, session: SessionDep) -> dict[str, Any]:
    return market_analysis.flips_view(session, body.model_dump(exclude_none=True))
