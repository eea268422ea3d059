"""Database rows → engine inputs for the pages, through the cost engine's use-case layer
(app/services/estimates.py: the same row mapping as the REST estimates), plus one page-specific read:
every accelerator with its cheapest price in effect, through the price sheet's cheapest-offer query (the
heatmap and the lever lab need all of them at once).
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
from app.services.price_sheet import cheapest_offers


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
    session: Session, as_of: date, pricing_model: str = "on_demand", min_accelerators_per_instance: int = 1
) -> list[PricedAccelerator]:
    """Every accelerator with its cheapest per-accelerator-hour price in effect on `as_of`: the price sheet's
    one cheapest-offer query (an index walk per accelerator, never the whole sheet). With
    min_accelerators_per_instance, the cheapest offer of instances that large where the part has one (a
    multi-GPU run is not priced at a one-GPU marketplace offer), else its cheapest offer."""
    best = {
        accelerator_id: quote
        for (accelerator_id, _), quote in cheapest_offers(session, None, [pricing_model], as_of).items()
    }
    if min_accelerators_per_instance > 1:
        large = cheapest_offers(session, None, [pricing_model], as_of, min_accelerators_per_instance)
        best.update({accelerator_id: quote for (accelerator_id, _), quote in large.items()})
    if not best:
        return []
    rows = session.scalars(select(Accelerator).where(Accelerator.id.in_(best))).all()
    out = [
        PricedAccelerator(row, accelerator_spec(row), best[row.id].usd_per_accelerator_hour, best[row.id])
        for row in rows
    ]
    return sorted(out, key=lambda p: p.row.name)
