"""Price-war simulations over REST: run and store, read back (JSON or the month-by-month CSV), preview
without storing, and the shipped presets. Units live in field names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from app.services import simulations
from app.web.auth import require_role
from app.web.deps import SessionDep, reads_first
from app.web.heavy import HeavyWork
from app.web.schemas import ErrorDetail, PricingModel, RowId, StrictModel

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not signed in"},
    403: {"model": ErrorDetail, "description": "Role too low"},
    404: {"model": ErrorDetail, "description": "Unknown simulation, scenario, model or accelerator id"},
    422: {
        "model": ErrorDetail,
        "description": "Invalid input; `loc` names the field (e.g. inputs.rivals[2].rule)",
    },
}
router = APIRouter(prefix="/simulations", tags=["simulations"], responses=ERRORS)
READ = [require_role("viewer")]
WRITE = [require_role("editor")]

Label = Annotated[str, Field(min_length=1, max_length=120)]


class StrategyInput(StrictModel):
    """One way of building and serving the model (e.g. a lever combination from the cost engine)."""

    name: Label
    unit_cost_usd_per_million_tokens: Annotated[float, Field(ge=0, le=1e6)]
    one_off_training_usd: Annotated[float, Field(ge=0, le=1e15)] = 0.0
    quality_delta_points: Annotated[float, Field(ge=-1000, le=1000)] = 0.0
    serving_tokens_per_s_per_gpu: Annotated[float, Field(gt=0, le=1e12)] | None = None
    levers: Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=8)] = []


class TornadoInput(StrictModel):
    """A sensitivity to add to the results: each uncertain input at its low and high, one at a time."""

    strategy: Label | None = Field(default=None, description="Default: the first strategy (the baseline)")
    outcome: Literal["cash_at_month", "survival_probability"] = "cash_at_month"
    outcome_month: Annotated[int, Field(ge=1, le=120)] = 24
    paths_count: Annotated[int, Field(ge=1, le=10_000)] = 500


class OwnedHardwareInput(StrictModel):
    """The cluster behind our unit cost when we own it (the accelerator is the request's accelerator_id)."""

    gpu_count: Annotated[int, Field(gt=0, le=1_000_000)]
    purchase_usd_per_gpu: Annotated[float, Field(gt=0, le=10_000_000)]
    depreciation_years: Annotated[float, Field(gt=0, le=30)]
    power_usd_per_kwh: Annotated[float, Field(ge=0, le=10)]
    pue: Annotated[float, Field(ge=1, le=5)]
    utilization: Annotated[float, Field(gt=0, le=1)]
    server_overhead_fraction: Annotated[float, Field(ge=0, le=10)] | None = None
    colocation_usd_per_kw_month: Annotated[float, Field(ge=0, le=100_000)] | None = None
    staff_usd_per_year: Annotated[float, Field(ge=0, le=1e10)] | None = None
    financing_rate_fraction: Annotated[float, Field(ge=0, le=1)] | None = None


class SimulationRequest(StrictModel):
    scenario_id: RowId | None = Field(
        default=None, description="A stored scenario (its inputs are a preset document)"
    )
    inputs: dict[str, Any] | None = Field(
        default=None,
        description="Inline inputs: a preset document {slug, name, sources, scenario, strategies} or a bare "
        "scenario {firm, market, rivals, horizon_months, paths_count, seed}; see GET /simulations/presets",
    )
    strategies: Annotated[list[StrategyInput], Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Default: the cost engine's 16 lever combinations, else the preset's, else baseline",
    )
    model_id: RowId | None = Field(
        default=None, description="Model configuration for the cost engine's strategies"
    )
    accelerator_id: RowId | None = Field(
        default=None, description="Accelerator for the cost engine's strategies"
    )
    price_usd_per_gpu_hour: Annotated[float, Field(gt=0, le=10_000)] | None = Field(
        default=None, description="Default: the cheapest quote in effect for the accelerator (pricing_model)"
    )
    pricing_model: PricingModel = Field(
        default="on_demand", description="Which quotes the default price comes from (reserved, spot, …)"
    )
    owned_hardware: OwnedHardwareInput | None = Field(
        default=None,
        description="Price the cost engine's strategies at the owned cost per used GPU-hour of this cluster "
        "(POST /estimates/ownership) instead of a rental",
    )
    use_cost_engine: bool = True
    paths_count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    horizon_months: Annotated[int, Field(ge=1, le=120)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=160)] | None = None
    tornado: TornadoInput | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SimulationRequest:
        if (self.scenario_id is None) == (self.inputs is None):
            raise ValueError("give either scenario_id or inputs")
        return self


class BandsRead(BaseModel):
    """Percentiles over the Monte Carlo paths, one value per month (null where not finite)."""

    p5: list[float | None]
    p25: list[float | None]
    p50: list[float | None]
    p75: list[float | None]
    p95: list[float | None]


class MarketSharesRead(BaseModel):
    """Medians by month of each firm's share of all demand (the API market plus the outside option)."""

    statistic: str = Field(description="p50: the median over paths")
    paths_used: int = Field(description="The medians are taken over the first paths_used paths")
    ours: list[float | None]
    rivals: list[list[float | None]] = Field(description="One list per rival, in rival_names order")
    outside_option: list[float | None] = Field(description="Demand that buys from no API provider")


class ClosedFormRead(BaseModel):
    value: float | None = Field(description="null when the answer is 'never' (see reason)")
    reason: str | None


class StrategyResultRead(BaseModel):
    name: str
    levers: list[str]
    closed_forms: dict[str, ClosedFormRead] = Field(
        default_factory=dict,
        description="margin_fraction, match_cut_fraction, required_volume_uplift_fraction x/(m-x), "
        "breakeven_volume_million_tokens_per_month F/(p-c), profit_max_price_usd_per_million_tokens (the "
        "simulator's own profit-maximising price against the rivals' month-1 prices), "
        "payback_months, at today's price and volume",
    )
    unit_cost_usd_per_million_tokens: float
    price_floor_usd_per_million_tokens: float
    full_cost_price_usd_per_million_tokens: float
    one_off_training_usd: float
    quality_delta_points: float
    capacity_million_tokens_per_month: float | None
    survival_probability: float = Field(description="Share of paths solvent at the horizon")
    survival_curve: list[float] = Field(description="Share of paths solvent at the end of each month")
    breakeven_month: int | None = Field(description="Median first month with operating profit >= 0")
    breakeven_paths_fraction: float
    payback_month: int | None
    death_month: int | None
    runway_months: float | None = Field(
        description="(Starting cash - one-off spend) / month-1 operating burn"
    )
    cash_at_horizon_p50_usd: float
    price_usd_per_million_tokens: BandsRead
    volume_million_tokens_per_month: BandsRead
    share_fraction: BandsRead
    revenue_usd_per_month: BandsRead
    gross_profit_usd_per_month: BandsRead
    gross_margin_fraction: BandsRead
    cash_usd: BandsRead
    rival_price_usd_per_million_tokens: list[BandsRead]
    rival_subsidy_exhausted_fraction: list[float]
    unit_cost_usd_per_million_tokens_by_month: BandsRead | None = Field(
        default=None,
        description="Our unit cost c0 x multiplier x k^(-(t-1)/12) by month, percentiles over paths "
        "(null on runs stored before it was added)",
    )
    price_floor_usd_per_million_tokens_by_month: BandsRead | None = Field(
        default=None, description="Our price floor (unit cost x (1 + floor margin)) by month"
    )
    shares_of_all_demand_fraction_p50: MarketSharesRead | None = Field(
        default=None, description="Every firm's and the outside option's share of all demand, by month"
    )


class RivalStaminaRead(BaseModel):
    name: str
    unit_cost_usd_per_million_tokens: float
    floor_price_usd_per_million_tokens: float
    cut_at_cost_fraction: float
    cut_with_subsidy_fraction: float
    monthly_loss_usd_at_floor: float
    sustain_months: float | None


class LeverContributionRead(BaseModel):
    lever: str
    pairs_count: int
    survival_probability_delta: float
    cash_at_horizon_p50_usd_delta: float


class TornadoBarRead(BaseModel):
    input: str
    low_value: float
    high_value: float
    outcome_at_low: float
    outcome_at_high: float
    swing: float


class TornadoRead(BaseModel):
    outcome: str
    outcome_month: int
    strategy: str
    base_value: float
    bars: list[TornadoBarRead]


class ResultsRead(BaseModel):
    horizon_months: int
    paths_count: int
    months: list[int]
    rival_names: list[str]
    rival_stamina: list[RivalStaminaRead]
    ranking_by_survival: list[str]
    ranking_by_cash: list[str]
    lever_contributions: list[LeverContributionRead] = []
    strategies: list[StrategyResultRead]
    tornado: TornadoRead | None = None


class SimulationRead(BaseModel):
    id: int | None = Field(description="null for a preview (nothing stored)")
    name: str
    scenario_id: int | None
    seed: int
    paths_count: int
    horizon_months: int
    engine_version: str
    strategies_source: str = Field(description="request, cost engine, preset, baseline or stored")
    notes: list[str]
    inputs: dict[str, Any] = Field(description="The preset document that replays this run exactly")
    results: ResultsRead


class PresetRead(BaseModel):
    slug: str
    name: str
    description: str
    source: str
    sources: list[str]
    assumptions: list[str]
    horizon_months: int
    paths_count: int
    rival_count: int
    strategy_count: int
    inputs: dict[str, Any]


@router.get(
    "/presets", response_model=list[PresetRead], dependencies=READ, summary="The shipped scenario presets"
)
def presets() -> list[dict[str, Any]]:
    return simulations.list_presets()


@router.post("/preview", response_model=SimulationRead, dependencies=READ, summary="Run without storing")
@reads_first
def preview(body: SimulationRequest, session: SessionDep, work: HeavyWork) -> dict[str, Any]:
    return simulations.preview(session, body.model_dump(exclude_none=True), max_work_units=work.work_units)


@router.post(
    "/tornado",
    response_model=TornadoRead,
    dependencies=READ,
    summary="Sensitivity (tornado) of one strategy, without storing",
    description="Each uncertain input at its low and high, one at a time, on common random numbers seeded "
    "like the run; `tornado` chooses the strategy, the outcome and its month (default: median cash at "
    "month 24 of the first strategy, 500 paths per variant).",
)
@reads_first
def tornado(body: SimulationRequest, session: SessionDep, work: HeavyWork) -> dict[str, Any]:
    return simulations.tornado_preview(
        session, body.model_dump(exclude_none=True), max_work_units=work.work_units
    )


@router.post(
    "",
    response_model=SimulationRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    summary="Run and store a simulation",
)
@reads_first
def create(body: SimulationRequest, session: SessionDep, work: HeavyWork) -> dict[str, Any]:
    return simulations.create_run(session, body.model_dump(exclude_none=True), max_work_units=work.work_units)


@router.get(
    "/{run_id:int}",
    response_model=SimulationRead,
    dependencies=READ,
    summary="A stored simulation (format=csv: the month-by-month table)",
    responses={200: {"content": {"text/csv": {}}}},
)
def read(
    run_id: RowId, session: SessionDep, format: Annotated[Literal["json", "csv"], Query()] = "json"
) -> Any:
    if format == "csv":
        filename, text = simulations.run_csv(session, run_id)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return simulations.get_run(session, run_id)
