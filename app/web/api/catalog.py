"""The stored resources: accelerators, the price sheet, market prices, model configurations, scenarios."""

from datetime import date
from typing import Annotated

from pydantic import Field
from sqlalchemy import ColumnElement

from app.db.base import Base
from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario
from app.services import price_sheet
from app.web import schemas
from app.web.api.listing import ListQuery
from app.web.api.resources import Resource, build_router
from app.web.schemas import IsoDate, RowId

Text = Annotated[str | None, Field(max_length=160)]


class AcceleratorQuery(ListQuery):
    vendor: Text = None
    name: Text = None
    verification: Text = None
    min_memory_gb: Annotated[float | None, Field(ge=0, le=1e6)] = None


class PriceQuoteQuery(ListQuery):
    provider: Text = None
    accelerator_id: RowId | None = None
    accelerator_family: Text = None
    pricing_model: Text = None
    region: Text = None
    as_of: Annotated[
        IsoDate | None, Field(description="The sheet as it stood on this date (default: today)")
    ] = None
    include_history: Annotated[bool, Field(description="Every dated row, ended ones too")] = False


class MarketPriceQuery(ListQuery):
    provider: Text = None
    model_name: Text = None
    event_type: Text = None
    since: IsoDate | None = None
    until: IsoDate | None = None


class ModelConfigQuery(ListQuery):
    workload: Text = None
    name: Text = None


class ScenarioQuery(ListQuery):
    name: Text = None
    is_preset: bool | None = None


def _equal(model: type[Base], query: ListQuery, *names: str) -> list[ColumnElement[bool]]:
    return [getattr(model, n) == getattr(query, n) for n in names if getattr(query, n) is not None]


def _accelerator_conditions(q: AcceleratorQuery):  # type: ignore[no-untyped-def]
    conditions = _equal(Accelerator, q, "vendor", "name", "verification")
    if q.min_memory_gb is not None:
        conditions.append(Accelerator.memory_gb >= q.min_memory_gb)
    return conditions


def _quote_conditions(q: PriceQuoteQuery):  # type: ignore[no-untyped-def]
    conditions = _equal(
        PriceQuote, q, "provider", "accelerator_id", "accelerator_family", "pricing_model", "region"
    )
    if not q.include_history:
        conditions.append(price_sheet.in_effect(q.as_of or date.today()))
    return conditions


def _market_conditions(q: MarketPriceQuery):  # type: ignore[no-untyped-def]
    conditions = _equal(MarketPrice, q, "provider", "model_name", "event_type")
    if q.since is not None:
        conditions.append(MarketPrice.effective_date >= q.since)
    if q.until is not None:
        conditions.append(MarketPrice.effective_date <= q.until)
    return conditions


RESOURCES = [
    Resource(
        "accelerators",
        "accelerators",
        Accelerator,
        schemas.AcceleratorCreate,
        schemas.AcceleratorUpdate,
        schemas.AcceleratorRead,
        AcceleratorQuery,
        _accelerator_conditions,
    ),
    Resource(
        "price-quotes",
        "price quotes",
        PriceQuote,
        schemas.PriceQuoteCreate,
        schemas.PriceQuoteUpdate,
        schemas.PriceQuoteRead,
        PriceQuoteQuery,
        _quote_conditions,
        prepare=price_sheet.prepare_quote,
        update=price_sheet.change_quote,
    ),
    Resource(
        "market-prices",
        "market prices",
        MarketPrice,
        schemas.MarketPriceCreate,
        schemas.MarketPriceUpdate,
        schemas.MarketPriceRead,
        MarketPriceQuery,
        _market_conditions,
    ),
    Resource(
        "models",
        "models",
        ModelConfig,
        schemas.ModelConfigCreate,
        schemas.ModelConfigUpdate,
        schemas.ModelConfigRead,
        ModelConfigQuery,
        lambda q: _equal(ModelConfig, q, "workload", "name"),
    ),
    Resource(
        "scenarios",
        "scenarios",
        Scenario,
        schemas.ScenarioCreate,
        schemas.ScenarioUpdate,
        schemas.ScenarioRead,
        ScenarioQuery,
        lambda q: _equal(Scenario, q, "name", "is_preset"),
    ),
]

routers = [build_router(resource) for resource in RESOURCES]
