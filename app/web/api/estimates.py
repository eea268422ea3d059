"""Cost estimates over REST: training, inference, sweeps and the seed article's formulas.

Thin routes: a strict request schema, one service call, a response schema. Units live in field names.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.engine.hardware import Precision as AnyPrecision
from app.engine.parallelism import DEFAULT_OVERLAP_FRACTION
from app.engine.serving import ServingPrecision
from app.engine.training import Recomputation, TrainingPrecision
from app.services import estimate_currency, estimates
from app.web.auth import require_role
from app.web.deps import SessionDep, reads_first
from app.web.heavy import HeavyWork
from app.web.schemas import STRICT, ErrorDetail, PricingModel, Workload

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not signed in"},
    403: {"model": ErrorDetail, "description": "Role too low"},
    404: {"model": ErrorDetail, "description": "Unknown model, accelerator or price quote id/name"},
    422: {"model": ErrorDetail, "description": "Invalid input, or a plan that cannot fit (with the numbers)"},
}
# Estimates store nothing: a viewer may ask for them, although they are POSTs.
router = APIRouter(
    prefix="/estimates", tags=["estimates"], responses=ERRORS, dependencies=[require_role("viewer")]
)


class StrictModel(BaseModel):
    """Strict, no extra fields (the project's STRICT), and `model_…` field names allowed."""

    model_config = ConfigDict(**STRICT, protected_namespaces=())


Count = Annotated[int, Field(gt=0, le=1_000_000)]
# Bounds keep every formula finite: a 1e-300 utilisation is a typo, not a plan.
Fraction = Annotated[float, Field(ge=0.001, le=1)]
Positive = Annotated[float, Field(ge=1, le=1e30)]
UsdPerGpuHour = Annotated[float, Field(ge=1e-6, le=10_000)]
Seconds = Annotated[float, Field(ge=1e-9, le=86_400)]
RowId = Annotated[int, Field(gt=0, le=2**31 - 1)]  # PostgreSQL INTEGER: larger ids are a 422, not a crash


class ModelInput(StrictModel):
    """An inline model (instead of model_id)."""

    name: Annotated[str, Field(min_length=1, max_length=120)] = "custom"
    workload: Workload = "language"
    parameter_count: Positive
    active_parameter_count: Positive | None = Field(default=None, description="Mixture of experts")
    layer_count: Count | None = None
    hidden_size: Count | None = None
    attention_head_count: Count | None = None
    kv_head_count: Count | None = None
    vocabulary_size: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    sequence_length: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    kv_cache_values_per_token_per_layer: Annotated[int, Field(gt=0, le=10_000_000)] | None = None
    flops_per_unit: Positive | None = None
    bytes_per_unit: Annotated[float, Field(ge=0, le=1e30)] | None = None
    unit_name: Annotated[str, Field(min_length=1, max_length=40)] = "token"


class AcceleratorInput(StrictModel):
    """Inline accelerator specs (instead of accelerator_id / accelerator_name). Dense peaks."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    peak_tflops: dict[AnyPrecision, Annotated[float, Field(ge=0.001, le=1e6)]]
    memory_gb: Annotated[float, Field(ge=0.001, le=100_000)]
    memory_bandwidth_tb_s: Annotated[float, Field(ge=1e-4, le=1000)]
    board_power_w: Annotated[float, Field(ge=1, le=100_000)] | None = None
    interconnect_bandwidth_gb_s: Annotated[float, Field(ge=0.001, le=1e6)] | None = None


DisplayCurrency = Literal["USD", "EUR", "CNY", "GBP", "JPY"]  # app.db.fx.DISPLAY_CURRENCIES


class CurrencyRead(BaseModel):
    """The currency an estimate's `…_in_currency…` fields are in (the `…_usd…` fields stay USD)."""

    currency: str = Field(description="The `currency` asked for (USD by default)")
    fx_rate_per_usd: float = Field(description="Units of `currency` per USD used (1 for USD)")
    fx_rate_date: date | None = Field(
        description="Date of the rate in effect (the latest dated rate on or before today); null for USD"
    )
    fx_rate_source: str | None = Field(description="Where the rate comes from (the FX table, /currency)")


class ModelAndAccelerator(StrictModel):
    currency: DisplayCurrency = Field(
        default="USD",
        description="Also give the money fields in this currency (…_in_currency…, at the dated rate in "
        "effect, named in fx_rate_date); every …_usd… field stays in USD",
    )
    model: ModelInput | None = None
    model_id: RowId | None = None
    accelerator: AcceleratorInput | None = None
    accelerator_id: RowId | None = None
    accelerator_name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    price_usd_per_gpu_hour: UsdPerGpuHour | None = Field(
        default=None,
        description="Default: the cheapest quote in effect for the accelerator and pricing_model",
    )
    pricing_model: PricingModel = "on_demand"
    price_quote_id: RowId | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> ModelAndAccelerator:
        if (self.model is None) == (self.model_id is None):
            raise ValueError("give either model or model_id")
        if sum(x is not None for x in (self.accelerator, self.accelerator_id, self.accelerator_name)) != 1:
            raise ValueError("give exactly one of accelerator, accelerator_id, accelerator_name")
        return self


class ParallelismInput(StrictModel):
    """A parallel layout. Omit it and the engine chooses one (reported in the response's `layout`)."""

    data_parallel_count: Count = 1
    tensor_parallel_count: Count = 1
    pipeline_parallel_count: Count = 1
    zero_stage: Literal[0, 1, 2, 3] = 1
    micro_batch_count: Count = 8
    micro_batch_size_count: Count = 1
    gpus_per_node_count: Count = 8
    intra_node_bandwidth_gb_s: Annotated[float, Field(ge=0.001, le=1e6)] | None = Field(
        default=None, description="Per GPU, per direction. Default: half the accelerator's NVLink figure"
    )
    inter_node_bandwidth_gb_s: Annotated[float, Field(ge=0.001, le=1e6)] | None = Field(
        default=None, description="Per GPU, per direction. Default: 50 GB/s for Hopper and later, else 25"
    )
    hop_latency_s: Annotated[float, Field(ge=0, le=1)] = 5e-6
    gradient_compression_ratio: Annotated[float, Field(ge=1, le=1e6)] = 1.0
    backward_overlap_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        default=DEFAULT_OVERLAP_FRACTION,
        description="Share of the data-parallel traffic that can hide behind the backward pass",
    )
    global_batch_token_count: Annotated[float, Field(ge=1, le=1e12)] | None = Field(
        default=None,
        description="Tokens per optimizer step (default 4,194,304). A layout whose data-parallel × "
        "micro-batch × sequence exceeds it is a 422 naming the numbers",
    )
    virtual_pipeline_stage_count: Count | None = Field(
        default=None, description="Interleaved schedule chunks per GPU; default min(4, layers per stage)"
    )


class TrainingRequest(ModelAndAccelerator):
    training_tokens: Positive | None = Field(default=None, description="Default: the stored model's tokens")
    gpu_count: Count
    precision: TrainingPrecision = "bf16"
    mfu: Fraction | None = Field(
        default=None,
        description="Model FLOPs utilisation. Default: the median compute MFU of published runs for the "
        "accelerator generation and model size (response: mfu_source, gpu_hours_range, cost_usd_range)",
    )
    mfu_basis: Literal["end_to_end", "compute"] = Field(
        default="end_to_end",
        description="end_to_end: the given MFU includes communication, as published MFUs do; compute: the "
        "engine's communication and pipeline bubble come on top",
    )
    achieved_tflops_per_gpu: Annotated[float, Field(ge=0.001, le=1e6)] | None = Field(
        default=None,
        description="Measured TFLOP/s per GPU, end to end; achieved_flops_basis says what it counts",
    )
    achieved_flops_basis: Literal["megatron", "model", "hardware"] = Field(
        default="megatron",
        description="megatron: hardware FLOPs with full recomputation (8·N·D), as Megatron-LM reports; "
        "model: 6·N·D; hardware: model FLOPs × this request's recomputation",
    )
    global_batch_tokens: Annotated[float, Field(ge=1, le=1e12)] | None = Field(
        default=None, description="Tokens per optimizer step when no layout sets it (default 4,194,304)"
    )
    calibrated: bool = Field(
        default=False,
        description="Scale MFU by the efficiency factor fitted on your training measurements of this "
        "accelerator (POST /api/v1/measurements); the answer says 'calibrated from N measurements'",
    )

    activation_recomputation: Recomputation = "selective"
    pue: Annotated[float, Field(ge=1, le=5)] | None = None
    grid_kg_co2_per_kwh: Annotated[float, Field(ge=0, le=5)] | None = None
    power_utilization: Fraction | None = None
    half_precision_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    parallelism: ParallelismInput | None = None
    micro_batch_size: Count = 1

    @model_validator(mode="after")
    def _mfu_or_achieved(self) -> TrainingRequest:
        if self.mfu is not None and self.achieved_tflops_per_gpu is not None:
            raise ValueError("give mfu or achieved_tflops_per_gpu, not both")
        return self


class MemoryByPart(BaseModel):
    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    activations_gb: float


class LayoutRead(BaseModel):
    tensor_parallel_count: int
    pipeline_parallel_count: int
    data_parallel_count: int
    zero_stage: int
    micro_batch_size_count: int
    global_batch_token_count: float | None
    chosen: bool = Field(description="True when the engine chose the layout (none was given)")
    description: str


class CalibrationRead(BaseModel):
    factor: float = Field(description="k minimising Σ (measured − k·predicted)² over the measurements")
    count: int = Field(description="N, the measurements fitted")
    residuals: list[float] = Field(description="measured / (k·predicted) − 1, one per measurement")
    rms_residual: float
    label: str


class TrainingEstimateRead(CurrencyRead):
    model_name: str
    accelerator_name: str
    training_tokens: float
    model_flops: float
    hardware_flops: float
    effective_peak_tflops: float
    mfu: float = Field(description="Compute MFU (communication excluded)")
    end_to_end_mfu: float = Field(description="mfu × scaling_efficiency: what a run would report")
    mfu_source: str
    calibration: str | None
    calibration_fit: CalibrationRead | None = None
    achieved_tflops_per_gpu: float
    ideal_gpu_hours: float
    gpu_hours: float
    gpu_hours_range: list[float] | None = Field(
        description="At the 10th-90th percentile MFU of the published runs (default MFU only)"
    )
    wall_clock_days: float
    wall_clock_days_range: list[float] | None
    scaling_efficiency: float
    layout: LayoutRead
    cost_usd: float | None
    cost_usd_range: list[float] | None
    price_usd_per_gpu_hour: float | None
    cost_in_currency: float | None = Field(description="cost_usd in `currency`")
    cost_in_currency_range: list[float] | None = Field(description="cost_usd_range in `currency`")
    price_in_currency_per_gpu_hour: float | None = Field(description="price_usd_per_gpu_hour in `currency`")
    price_source: str
    pricing_model: str
    price_offer_accelerator_count: int | None = Field(
        description="Accelerators per instance of the priced offer (at least min(GPUs, 8) by default)"
    )
    energy_kwh: float | None
    co2_kg: float | None
    memory_gb_per_gpu: float
    memory_by_part_gb: MemoryByPart
    available_memory_gb_per_gpu: float
    fits_in_memory: bool
    minimum_gpu_count: int | None
    memory_message: str
    communication: dict[str, float] | None
    assumptions: list[str]


class InferenceRequest(ModelAndAccelerator):
    gpus_per_replica: Annotated[int, Field(gt=0, le=1024)] = 1
    weight_precision: ServingPrecision = "bf16"
    activation_precision: ServingPrecision = "bf16"
    kv_cache_precision: ServingPrecision = "bf16"
    batch_size: Annotated[int, Field(gt=0, le=65_536)] | None = Field(
        default=None,
        description="Concurrency (requests in flight). Default: searched over 1, 2, 3, 4, 6, 8, … 1,024: the "
        "highest throughput that fits (no targets: max_throughput mode) or that fits and meets the "
        "targets (latency_targets mode)",
    )
    max_batch_size: Annotated[int, Field(gt=0, le=65_536)] = 1024
    max_batched_tokens: Annotated[int, Field(gt=0, le=1_048_576)] = Field(
        default=8192, description="Tokens one iteration may hold (chunked-prefill budget)"
    )
    prompt_tokens: Annotated[int, Field(gt=0, le=10_000_000)] = 1024
    output_tokens: Annotated[int, Field(gt=0, le=10_000_000)] = 256
    time_to_first_token_target_s: Seconds | None = None
    time_per_output_token_target_s: Seconds | None = None
    utilization: Fraction | None = None
    quality_loss_points: Annotated[float, Field(ge=-100, le=100)] | None = Field(
        default=None, description="Quality lost to quantization; unknown (not zero) when omitted"
    )
    memory_efficiency: Fraction | None = None
    compute_efficiency: Fraction | None = None
    calibrated: bool = Field(
        default=False,
        description="Run every part of an iteration k times as fast, k the efficiency factor fitted on "
        "your serving measurements of this accelerator (POST /api/v1/measurements; output tokens/s × k, "
        "$/1M ÷ k at the same concurrency); the answer says 'calibrated from N measurements'. Without "
        "serving measurements of the accelerator: 422",
    )


class InferenceEstimateRead(CurrencyRead):
    model_name: str
    accelerator_name: str
    gpus_per_replica: int
    weights_bytes: float
    weights_gb_per_gpu: float
    kv_cache_bytes_per_token: float
    kv_cache_gb_per_gpu: float
    memory_gb_per_gpu: float
    available_memory_gb_per_gpu: float
    fits_in_memory: bool
    mode: Literal["max_throughput", "latency_targets"] = Field(
        description="max_throughput: no latency targets given; latency_targets: targets constrain the plan"
    )
    meets_latency_targets: bool = Field(description="True only when targets were given and are met")
    batch_size: int
    concurrency: int = Field(description="Requests in flight (the same as batch_size)")
    compute_precision: str
    time_to_first_token_s: float
    time_per_output_token_s: float
    decode_memory_s: float
    decode_compute_s: float
    communication_s: float
    bound: Literal["memory", "compute"]
    iteration_s: float = Field(description="One steady-state iteration (decode tokens + prompt chunks)")
    gemm_memory_s: float
    gemm_compute_s: float
    attention_s: float
    queue_wait_s: float = Field(description="Mean wait for a free slot at the utilisation (M/D/c)")
    prefill_iteration_count: float
    output_tokens_per_second: float = Field(
        description="Steady-state end-to-end output throughput of the replica, prompt processing counted"
    )
    output_tokens_per_second_per_gpu: float
    input_tokens_per_second: float = Field(description="Prompt tokens processed per second alongside")
    decode_output_tokens_per_second: float = Field(
        description="Decode-only rate at the same concurrency (no prompts): an upper bound, not billable"
    )
    prefill_input_tokens_per_second: float = Field(
        description="Prefill-only rate at the chunk budget (prompt tokens per second)"
    )
    utilization: float
    cost_usd_per_million_output_tokens: float | None = Field(
        description="GPUs × price ÷ (3,600 × output_tokens_per_second × utilization) × 1e6"
    )
    cost_usd_per_million_tokens: float | None = Field(
        description="Blended: the same replica-hours over prompt + output tokens"
    )
    unit_name: str
    cost_usd_per_thousand_units: float | None
    cost_in_currency_per_million_output_tokens: float | None = Field(
        description="cost_usd_per_million_output_tokens in `currency`"
    )
    cost_in_currency_per_million_tokens: float | None = Field(
        description="cost_usd_per_million_tokens in `currency`"
    )
    cost_in_currency_per_thousand_units: float | None = Field(
        description="cost_usd_per_thousand_units in `currency`"
    )
    price_in_currency_per_gpu_hour: float | None = Field(description="price_usd_per_gpu_hour in `currency`")
    quality_loss_points: float | None
    price_usd_per_gpu_hour: float | None
    price_source: str
    message: str
    calibration: str | None = Field(default=None, description="'calibrated from N measurements …' or null")
    calibration_fit: CalibrationRead | None = None
    assumptions: list[str]


class QuantizationInput(StrictModel):
    weight_precision: ServingPrecision = "bf16"
    activation_precision: ServingPrecision = "bf16"
    kv_cache_precision: ServingPrecision = "bf16"
    quality_loss_points: Annotated[float, Field(ge=-100, le=100)] | None = None


class SweepRequest(StrictModel):
    kind: Literal["training", "serving"]
    model: ModelInput | None = None
    model_id: RowId | None = None
    accelerator_ids: Annotated[list[RowId], Field(max_length=1000)] | None = None
    accelerator_names: (
        Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=1000)] | None
    ) = None
    pricing_models: Annotated[list[PricingModel], Field(min_length=1, max_length=5)] | None = None
    price_usd_per_gpu_hour: UsdPerGpuHour | None = None
    training_tokens: Positive | None = None
    precisions: Annotated[list[TrainingPrecision], Field(min_length=1, max_length=5)] | None = None
    gpu_counts: Annotated[list[Count], Field(min_length=1, max_length=100_000)] | None = None
    mfu: Fraction | None = Field(
        default=None,
        description="Compute MFU; default: published runs' median per accelerator and model size",
    )
    global_batch_tokens: Annotated[float, Field(ge=1, le=1e12)] | None = None
    activation_recomputation: Recomputation = "selective"
    max_days: Annotated[float, Field(gt=0, le=1e6)] | None = None
    quantizations: Annotated[list[QuantizationInput], Field(min_length=1, max_length=20)] | None = None
    gpus_per_replica: (
        Annotated[list[Annotated[int, Field(gt=0, le=1024)]], Field(min_length=1, max_length=64)] | None
    ) = None
    batch_sizes: (
        Annotated[list[Annotated[int, Field(gt=0, le=65_536)]], Field(min_length=1, max_length=65_536)] | None
    ) = None
    prompt_tokens: Annotated[int, Field(gt=0, le=10_000_000)] = 1024
    output_tokens: Annotated[int, Field(gt=0, le=10_000_000)] = 256
    time_to_first_token_target_s: Seconds | None = None
    time_per_output_token_target_s: Seconds | None = None
    utilization: Fraction | None = None
    limit: Annotated[int, Field(gt=0, le=1000)] = 50

    @model_validator(mode="after")
    def _one_model(self) -> SweepRequest:
        if (self.model is None) == (self.model_id is None):
            raise ValueError("give either model or model_id")
        return self


class SweepRead(BaseModel):
    kind: str
    evaluated_plan_count: int
    feasible_plan_count: int
    cost_column: str
    time_column: str
    cheapest: dict[str, Any] | None
    plans: list[dict[str, Any]]
    pareto: list[dict[str, Any]]
    assumptions: list[str]


class CommunicationInput(StrictModel):
    node_count: Annotated[float, Field(gt=0, le=1e9)] = 10.0
    gradient_size: Annotated[float, Field(ge=0, le=1e30)] = 1.0


class TransferInput(StrictModel):
    pretrained_size: Annotated[float, Field(ge=0, le=1e30)] = 100.0
    iteration_count: Annotated[float, Field(ge=0, le=1e30)] = 1000.0
    alpha_p: Annotated[float, Field(ge=0, le=1e30)] = 1.0
    alpha_t: Annotated[float, Field(ge=0, le=1e30)] = 0.1


class QuantizationCostInput(StrictModel):
    float_model_cost: Annotated[float, Field(ge=0, le=1e30)] = 1000.0
    quantization_error: Annotated[float, Field(ge=0, le=1e30)] = 10.0
    alpha_q: Annotated[float, Field(ge=0, le=1e30)] = 1.0


class MixedPrecisionInput(StrictModel):
    operation_count: Annotated[float, Field(ge=0, le=1e30)] = 1e11
    half_precision_fraction: Annotated[float, Field(ge=0, le=1)] = 0.7
    beta_16: Annotated[float, Field(ge=0, le=1e30)] = 0.5
    beta_32: Annotated[float, Field(ge=0, le=1e30)] = 1.0


class ScenarioInput(StrictModel):
    """The article's reported results (defaults as published)."""

    single_gpu_minutes: Annotated[float, Field(gt=0, le=1e9)] = 100.0
    distributed_gpu_count: Annotated[int, Field(gt=0, le=1_000_000)] = 4
    distributed_minutes: Annotated[float, Field(gt=0, le=1e9)] = 50.0
    mixed_precision_minutes: Annotated[float, Field(gt=0, le=1e9)] = 60.0
    float_model_mb: Annotated[float, Field(gt=0, le=1e12)] = 100.0
    quantized_model_mb: Annotated[float, Field(gt=0, le=1e12)] = 20.0
    accuracy_before_percent: Annotated[float, Field(ge=0, le=100)] = 80.0
    accuracy_after_percent: Annotated[float, Field(ge=0, le=100)] = 90.0


class ArticleRequest(StrictModel):
    accelerator_name: Annotated[str, Field(min_length=1, max_length=120)] | None = Field(
        default=None, description="Whose peaks the physical view uses (default A100-SXM4-80GB)"
    )
    communication: CommunicationInput | None = None
    transfer_learning: TransferInput | None = None
    quantization: QuantizationCostInput | None = None
    mixed_precision: MixedPrecisionInput | None = None
    scenario: ScenarioInput | None = None


class ArticleRead(BaseModel):
    accelerator_name: str
    formulas: dict[str, float | None]
    worked_example: list[dict[str, Any]]
    scenario: dict[str, Any]
    findings: list[dict[str, Any]]


def _dump(request: BaseModel) -> dict[str, Any]:
    return request.model_dump(exclude_none=True)


@router.post("/training", response_model=TrainingEstimateRead)
@reads_first
def training_estimate(request: TrainingRequest, session: SessionDep) -> dict[str, Any]:
    """GPU-hours, wall-clock, cost, energy, CO2 and memory per GPU of one training run (money also in
    `currency`, at the dated rate in effect)."""
    body = _dump(request)
    money = estimate_currency.money_in(session, body.pop("currency", "USD"))
    result = estimates.training(session, body)
    return estimate_currency.with_currency(result, money, estimate_currency.TRAINING_MONEY_FIELDS)


@router.post("/inference", response_model=InferenceEstimateRead)
@reads_first
def inference_estimate(request: InferenceRequest, session: SessionDep) -> dict[str, Any]:
    """Memory, latency, throughput and cost per 1M output tokens of one serving replica (money also in
    `currency`, at the dated rate in effect)."""
    body = _dump(request)
    money = estimate_currency.money_in(session, body.pop("currency", "USD"))
    result = estimates.inference(session, body)
    return estimate_currency.with_currency(result, money, estimate_currency.INFERENCE_MONEY_FIELDS)


@router.post("/sweep", response_model=SweepRead)
@reads_first
def sweep_estimate(request: SweepRequest, session: SessionDep, work: HeavyWork) -> dict[str, Any]:
    """Many plans at once: sorted by cost, with the Pareto frontier of cost, time and quality loss."""
    return estimates.sweep(session, _dump(request))


@router.post("/article", response_model=ArticleRead)
@reads_first
def article_estimate(request: ArticleRequest, session: SessionDep) -> dict[str, Any]:
    """The seed article's four formulas, its worked example beside the physical model, and its results."""
    return estimates.article_view(session, _dump(request))
