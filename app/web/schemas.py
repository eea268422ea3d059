"""API schemas: …Create (strict, no extra fields), …Update (every field optional plus the version), …Read."""

from __future__ import annotations

import copy
import typing
from datetime import date, datetime
from typing import Annotated, Any

import annotated_types
from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, create_model, model_validator

# Re-exported: the API modules take these field types from here.
from app.db.models import EventType as EventType
from app.db.models import PricingModel as PricingModel
from app.db.models import Verification as Verification
from app.engine.architecture import Workload as Workload
from app.services.price_sheet import MAX_USD_PER_ACCELERATOR_HOUR

# Sane caps: a price above these is a typo, not a quote.
MAX_USD_PER_HOUR = MAX_USD_PER_ACCELERATOR_HOUR
MAX_USD_PER_MILLION_TOKENS = 10_000.0

STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

# Largest id a row can have (PostgreSQL INTEGER); larger ids would be a database error, not a 404.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(gt=0, le=MAX_ID)]
# The same bounds for ids in paths, on API and page routes alike (a huge id is a 422, never a 500).
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id")]


def parse_row_id(text: str) -> int | None:
    """An id given as query text (?run=12), or None when it is not a whole number within the id bounds."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _iso_date_only(value: Any) -> Any:
    """Dates are YYYY-MM-DD text (or date objects from Python callers): no Unix timestamps, no numbers."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_datetime_only(value: Any) -> Any:
    """Moments are ISO 8601 text (YYYY-MM-DD[THH:MM[:SS]][offset]) or datetime objects: no Unix timestamps."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value
    raise ValueError("must be an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS, UTC if no offset)")


IsoDateTime = Annotated[datetime, Strict(False), BeforeValidator(_iso_datetime_only)]

# Dates travel as ISO strings in JSON; strict mode would refuse them, so these fields parse leniently,
# after a check that they are ISO text.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date_only)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
ShortText = Annotated[str, Field(max_length=160)]
LongText = Annotated[str, Field(max_length=4000)]
PositiveFloat = Annotated[float, Field(gt=0, le=1e30)]
PositiveCount = Annotated[int, Field(gt=0, le=10_000_000)]
UsdPerHour = Annotated[float, Field(gt=0, le=MAX_USD_PER_HOUR * 1000)]
UsdPerAcceleratorHour = Annotated[float, Field(gt=0, le=MAX_USD_PER_HOUR)]
UsdPerMillion = Annotated[float, Field(ge=0, le=MAX_USD_PER_MILLION_TOKENS)]
Tflops = Annotated[float, Field(gt=0, le=1e6)]


def has_nul(value: Any) -> bool:
    """NUL characters are never meaningful text, and PostgreSQL cannot store them."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class StrictModel(BaseModel):
    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # Input documents only (a dict): the …Read models, built from rows, skip this at no cost.
        if isinstance(data, dict):
            for key, value in data.items():
                if has_nul(key) or has_nul(value):
                    raise ValueError(f"{key}: must not contain NUL (\\x00) characters")
        return data


class AcceleratorCreate(StrictModel):
    name: Name
    vendor: Annotated[str, Field(min_length=1, max_length=80)]
    form_factor: Annotated[str, Field(max_length=120)] | None = None
    memory_gb: Annotated[float, Field(gt=0, le=100_000)]
    memory_type: Annotated[str, Field(max_length=40)] | None = None
    memory_bandwidth_tb_s: Annotated[float, Field(gt=0, le=1000)]
    fp32_tflops: Tflops | None = None
    tf32_tflops: Tflops | None = None
    bf16_tflops: Tflops | None = Field(default=None, description="Dense BF16/FP16 tensor peak")
    fp8_tflops: Tflops | None = None
    int8_tops: Tflops | None = None
    fp4_tflops: Tflops | None = None
    board_power_w: Annotated[float, Field(gt=0, le=100_000)] | None = None
    interconnect: Annotated[str, Field(max_length=120)] | None = None
    interconnect_bandwidth_gb_s: Annotated[float, Field(gt=0, le=1e6)] | None = None
    release_year: Annotated[int, Field(ge=1990, le=2100)] | None = None
    verification: Verification = "user-entered"
    source: LongText = ""
    notes: LongText = ""


class PriceQuoteCreate(StrictModel):
    provider: Annotated[str, Field(min_length=1, max_length=80)]
    instance_type: Name
    region: Annotated[str, Field(max_length=80)] = ""
    accelerator_id: RowId | None = None
    accelerator_family: Annotated[str, Field(max_length=80)] = ""
    accelerator_count: Annotated[int, Field(gt=0, le=100_000)]
    pricing_model: PricingModel
    usd_per_hour: UsdPerHour
    usd_per_accelerator_hour: UsdPerAcceleratorHour | None = Field(
        default=None, description="Defaults to usd_per_hour / accelerator_count"
    )
    discount_percent: Annotated[float, Field(ge=0, lt=100)] = 0.0
    price_scope: Annotated[str, Field(max_length=40)] = "instance_total"
    effective_from: IsoDate
    effective_to: IsoDate | None = None
    source: LongText = ""
    verification: Verification = "user-entered"
    notes: LongText = ""


class MarketPriceCreate(StrictModel):
    provider: Annotated[str, Field(min_length=1, max_length=80)]
    model_name: Annotated[str, Field(min_length=1, max_length=160)]
    tier: Annotated[str, Field(max_length=60)] = ""
    input_usd_per_million: UsdPerMillion
    output_usd_per_million: UsdPerMillion
    cached_input_usd_per_million: UsdPerMillion | None = None
    original_currency: Annotated[str, Field(min_length=3, max_length=8)] = "USD"
    original_input_per_million: Annotated[float, Field(ge=0, le=1e6)] | None = None
    original_output_per_million: Annotated[float, Field(ge=0, le=1e6)] | None = None
    effective_date: IsoDate
    date_basis: Annotated[str, Field(max_length=40)] = "day"
    event_type: EventType
    capability_score: Annotated[float, Field(ge=-1e6, le=1e6)] | None = Field(
        default=None,
        description="A public benchmark or arena rating (higher is better), for quality-adjusted prices",
    )
    capability_source: LongText = Field(default="", description="Which benchmark or rating, and when")
    change_note: LongText = ""
    source: LongText = ""
    verification: Verification = "user-entered"
    notes: LongText = ""


class ModelConfigCreate(StrictModel):
    name: Name
    workload: Workload
    parameter_count: PositiveFloat
    active_parameter_count: PositiveFloat | None = Field(default=None, description="Mixture of experts")
    layer_count: Annotated[int, Field(gt=0, le=10_000)] | None = None
    hidden_size: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    attention_head_count: Annotated[int, Field(gt=0, le=100_000)] | None = None
    kv_head_count: Annotated[int, Field(gt=0, le=100_000)] | None = None
    vocabulary_size: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    context_length: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    kv_cache_values_per_token_per_layer: Annotated[int, Field(gt=0, le=10_000_000)] | None = Field(
        default=None, description="Only for non-standard attention (e.g. MLA); default 2·kv_heads·head_size"
    )
    training_tokens: PositiveFloat | None = None
    flops_per_unit: PositiveFloat | None = Field(default=None, description="Non-language workloads")
    bytes_per_unit: PositiveFloat | None = None
    unit_name: Annotated[str, Field(min_length=1, max_length=40)] = "token"
    source: LongText = ""
    notes: LongText = ""


class ComparableSet(StrictModel):
    """Which market prices a scenario competes with; every filter given must hold."""

    providers: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=100)] = []
    model_name_contains: Annotated[str, Field(max_length=160)] = ""
    min_capability_score: Annotated[float, Field(ge=-1e6, le=1e6)] | None = None
    max_capability_score: Annotated[float, Field(ge=-1e6, le=1e6)] | None = None


class ScenarioCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=160)]
    description: LongText = ""
    model_config_id: RowId | None = None
    accelerator_id: RowId | None = None
    as_of: IsoDate | None = None
    inputs: dict[str, Any] = Field(default_factory=dict, description="Simulator inputs (JSON)")
    source: LongText = ""
    comparable_set: ComparableSet | None = Field(
        default=None, description="The market prices its price-floor alerts compare with (none: every one)"
    )


def _partial(create: type[StrictModel], name: str) -> type[StrictModel]:
    """An …Update schema: every field of `create` optional, plus the required `version` it was read at."""
    fields: dict[str, Any] = {}
    for field_name, info in create.model_fields.items():
        optional = copy.deepcopy(info)  # keeps the constraints (gt, max_length, lenient dates)
        optional.default, optional.default_factory = None, None
        fields[field_name] = (info.annotation | None, optional)  # type: ignore[operator]
    fields["version"] = (Annotated[int, Field(ge=1, description="The version you read; stale → 409")], ...)
    # Leaving a field out keeps it; an explicit null is only allowed where the resource allows no value.
    not_nullable = frozenset(
        name for name, info in create.model_fields.items() if not _allows_none(info.annotation)
    )

    def _no_null_for_required(cls: type, data: Any) -> Any:
        if isinstance(data, dict):
            for key in sorted(not_nullable & {k for k, v in data.items() if v is None}):
                raise ValueError(f"{key}: cannot be null (leave it out to keep the current value)")
        return data

    validators = {"_no_null_for_required": model_validator(mode="before")(_no_null_for_required)}
    return create_model(name, __base__=StrictModel, __validators__=validators, **fields)  # type: ignore[arg-type]


def _allows_none(annotation: Any) -> bool:
    return annotation is None or type(None) in typing.get_args(annotation)


AcceleratorUpdate = _partial(AcceleratorCreate, "AcceleratorUpdate")
PriceQuoteUpdate = _partial(PriceQuoteCreate, "PriceQuoteUpdate")
MarketPriceUpdate = _partial(MarketPriceCreate, "MarketPriceUpdate")
ModelConfigUpdate = _partial(ModelConfigCreate, "ModelConfigUpdate")
ScenarioUpdate = _partial(ScenarioCreate, "ScenarioUpdate")


class RowMeta(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    created_at: datetime
    updated_at: datetime


class AcceleratorRead(RowMeta, AcceleratorCreate):
    model_config = ConfigDict(from_attributes=True)


class PriceQuoteRead(RowMeta, PriceQuoteCreate):
    model_config = ConfigDict(from_attributes=True)
    usd_per_accelerator_hour: float


class MarketPriceRead(RowMeta, MarketPriceCreate):
    model_config = ConfigDict(from_attributes=True)


class ModelConfigRead(RowMeta, ModelConfigCreate):
    model_config = ConfigDict(from_attributes=True)


class ScenarioRead(RowMeta, ScenarioCreate):
    model_config = ConfigDict(from_attributes=True)
    is_preset: bool


_BOUNDS = (
    annotated_types.Gt,
    annotated_types.Ge,
    annotated_types.Lt,
    annotated_types.Le,
    annotated_types.MinLen,
    annotated_types.MaxLen,
    annotated_types.MultipleOf,
)


def _without_bounds(read: type[BaseModel]) -> None:
    """A …Read model describes what is stored: the …Create bounds guard input, and a row stored before a
    bound existed (or by another path) must still be readable, so reads drop them (the Create models keep
    theirs: pydantic gives each subclass its own field objects)."""
    for info in read.model_fields.values():
        info.metadata = [m for m in info.metadata if not isinstance(m, _BOUNDS)]
    read.model_rebuild(force=True)


for _read in (AcceleratorRead, PriceQuoteRead, MarketPriceRead, ModelConfigRead, ScenarioRead):
    _without_bounds(_read)


class Page(BaseModel):
    """One page of a list, with the total across all pages."""

    items: list[Any]
    total: int = Field(description="Rows matching the filters, counted up to offset + 1,000 (total_is_exact)")
    total_is_exact: bool = Field(
        default=True, description="false: more than `total` rows match (a grown table is never counted whole)"
    )
    limit: int
    offset: int


class ErrorDetail(BaseModel):
    detail: Any
