"""Database rows → engine inputs for the pages, through the cost engine's use-case layer
(app/services/estimates.py: the same row mapping as the REST estimates), plus one page-specific read:
every accelerator with its cheapest price in effect, in one query (the heatmap and the lever lab need all
of them at once; estimates.price resolves one accelerator at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, ModelConfig, PriceQuote
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec
from app.services import estimates
from app.services.price_sheet import in_effect, is_whole_offer


def model_spec(row: ModelConfig) -> ModelSpec:
    return estimates.spec_of_model_row(row)


def accelerator_spec(row: Accelerator) -> AcceleratorSpec:
    return estimates.spec_of_row(row)


@dataclass(frozen=True)
class PricedAccelerator:
    row: Accelerator
    spec: AcceleratorSpec
    usd_per_gpu_hour: float
    quote: PriceQuote


def priced_accelerators(
    session: Session, as_of: date, pricing_model: str = "on_demand"
) -> list[PricedAccelerator]:
    """Every accelerator with its cheapest per-accelerator-hour price in effect on `as_of` (one query)."""
    quotes = session.scalars(
        select(PriceQuote)
        .where(
            PriceQuote.pricing_model == pricing_model,
            PriceQuote.accelerator_id.is_not(None),
            is_whole_offer(),
            in_effect(as_of),
        )
        .order_by(PriceQuote.usd_per_accelerator_hour, PriceQuote.id)
    )
    best: dict[int, PriceQuote] = {}
    for quote in quotes:
        best.setdefault(quote.accelerator_id or 0, quote)
    rows = session.scalars(select(Accelerator).where(Accelerator.id.in_(best))).all()
    out = [
        PricedAccelerator(row, accelerator_spec(row), best[row.id].usd_per_accelerator_hour, best[row.id])
        for row in rows
    ]
    return sorted(out, key=lambda p: p.row.name)
