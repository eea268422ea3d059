"""The hardware page's price sheet, a page at a time in SQL (issue 17), never the whole sheet per request.

- Sorts on a column of the sheet are `ORDER BY column, id LIMIT/OFFSET` over the filtered, in-effect rows
  (index walks for the price and date columns).
- Sorts on a per-accelerator metric ($ per PFLOP-hour, $ per GB-hour, tokens per $) are a constant per
  accelerator times (or over) the price per accelerator-hour, so the sheet in that order is a merge of each
  accelerator's offers by price: one index walk of (accelerator_id, usd_per_accelerator_hour, id) per
  accelerator, `offset + page size` rows each, merged in Python; offers without the metric come last (first
  when descending), in id order.
- The chart and the headline cards need the cheapest whole offer per accelerator and pricing model: the price
  sheet's own cheapest-offer query (price_sheet.cheapest_offers) with the page's filters.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.db.models import Accelerator, PriceQuote
from app.services import paging, price_sheet
from app.web.charts.hardware import METRIC_PRECISIONS, OfferMetrics, offer_metrics

QUOTE_COLUMNS = (
    PriceQuote.id,
    PriceQuote.provider,
    PriceQuote.instance_type,
    PriceQuote.region,
    PriceQuote.accelerator_id,
    PriceQuote.accelerator_family,
    PriceQuote.accelerator_count,
    PriceQuote.pricing_model,
    PriceQuote.usd_per_hour,
    PriceQuote.usd_per_accelerator_hour,
    PriceQuote.price_scope,
    PriceQuote.effective_from,
    PriceQuote.effective_to,
    PriceQuote.verification,
    PriceQuote.source,
)

# Sorts on a column of the sheet (the second column breaks ties before the id).
COLUMN_SORTS: dict[str, tuple[Any, ...]] = {
    "provider": (PriceQuote.provider, PriceQuote.instance_type),
    "instance": (PriceQuote.instance_type,),
    "count": (PriceQuote.accelerator_count,),
    "pricing": (PriceQuote.pricing_model,),
    "usd_per_hour": (PriceQuote.usd_per_hour,),
    "usd_per_accelerator_hour": (PriceQuote.usd_per_accelerator_hour,),
    "effective_from": (PriceQuote.effective_from,),
}
METRIC_SORTS = (*(f"pflop_{p}" for p in METRIC_PRECISIONS), "gb_hour", "tokens_per_usd")
SORTS = (*COLUMN_SORTS, "accelerator", *METRIC_SORTS)


@dataclass(frozen=True)
class SheetFilter:
    as_of: date
    provider: str = ""
    accelerator_ids: tuple[int, ...] | None = None  # None: any accelerator
    pricing_model: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        out = [price_sheet.in_effect(self.as_of)]
        if self.provider:
            out.append(PriceQuote.provider == self.provider)
        if self.pricing_model:
            out.append(PriceQuote.pricing_model == self.pricing_model)
        if self.accelerator_ids is not None:
            out.append(PriceQuote.accelerator_id.in_(self.accelerator_ids))
        return out


SHEET_COUNT_CAP = 10_000  # the hardware card; cached per view and stamps, so counted once per change


def count(session: Session, sheet: SheetFilter, cap: int = SHEET_COUNT_CAP) -> tuple[int, bool]:
    """Offers on the filtered sheet, counted up to `cap` (exact?): never a count of a whole grown sheet."""
    return paging.capped_count(session, select(PriceQuote.id).where(*sheet.conditions()), cap)


def _factors(sort: str, accelerators: dict[int, Any], throughput: dict[str, float]) -> dict[int, float]:
    """Per accelerator id, the positive factor f with metric = f · price per accelerator-hour (ascending
    metric = ascending price within an accelerator); accelerators without the metric are absent."""
    out: dict[int, float] = {}
    for acc_id, acc in accelerators.items():
        if sort.startswith("pflop_"):
            peak = getattr(acc, f"{sort.removeprefix('pflop_')}_tflops", None)
            if peak:
                out[acc_id] = 1000.0 / peak
        elif sort == "gb_hour":
            if acc.memory_gb:
                out[acc_id] = 1.0 / acc.memory_gb
        elif sort == "tokens_per_usd":  # sorted by (no tokens, −tokens per $): fewest $ per token first
            tps = throughput.get(acc.name)
            if tps:
                out[acc_id] = 1.0 / tps
    return out


def _metrics(rows: Sequence[Any], accelerators: dict[int, Any]) -> list[OfferMetrics]:
    return [offer_metrics(row, accelerators.get(row.accelerator_id)) for row in rows]


def page_rows(
    session: Session,
    accelerators: dict[int, Any],
    sheet: SheetFilter,
    sort: str,
    descending: bool,
    offset: int,
    limit: int,
    throughput: dict[str, float],
) -> list[OfferMetrics]:
    """Rows [offset, offset + limit) of the filtered sheet in the chosen order."""
    conditions = sheet.conditions()
    if sort in COLUMN_SORTS or sort == "accelerator":
        if sort == "accelerator":
            name = func.coalesce(Accelerator.name, PriceQuote.accelerator_family)
            keys: tuple[Any, ...] = (name,)
        else:
            keys = COLUMN_SORTS[sort]
        order = [k.desc() if descending else k for k in (*keys, PriceQuote.id)]
        query = select(*QUOTE_COLUMNS).where(*conditions)
        if sort == "accelerator":
            query = query.outerjoin(Accelerator, Accelerator.id == PriceQuote.accelerator_id)
        return _metrics(
            session.execute(query.order_by(*order).limit(limit).offset(offset)).all(), accelerators
        )

    factors = _factors(sort, accelerators, throughput)
    if sheet.accelerator_ids is not None:
        factors = {k: v for k, v in factors.items() if k in sheet.accelerator_ids}
    wanted = offset + limit

    def metric_rows(first: int, stop: int) -> list[tuple[float, int, Any]]:
        """Rows [first, stop) of the offers with the metric, merged over the accelerators."""
        streams = []
        price_order = (
            PriceQuote.usd_per_accelerator_hour.desc() if descending else PriceQuote.usd_per_accelerator_hour
        )
        id_order = PriceQuote.id.desc() if descending else PriceQuote.id
        for acc_id, factor in factors.items():
            rows = session.execute(
                select(*QUOTE_COLUMNS)
                .where(*conditions, PriceQuote.accelerator_id == acc_id)
                .order_by(price_order, id_order)
                .limit(stop)
            ).all()
            sign = -1.0 if descending else 1.0
            streams.append(
                [(sign * row.usd_per_accelerator_hour * factor, sign * row.id, row) for row in rows]
            )
        merged = heapq.merge(*streams, key=lambda item: (item[0], item[1]))
        return [item for i, item in enumerate(merged) if i < stop][first:stop]

    def other_rows(first: int, stop: int) -> list[Any]:
        """Rows [first, stop) of the offers without the metric, in id order (reversed when descending)."""
        if stop <= first:
            return []
        query = select(*QUOTE_COLUMNS).where(*conditions, _lacking(accelerators, factors))
        query = query.order_by(PriceQuote.id.desc() if descending else PriceQuote.id)
        return list(session.execute(query.limit(stop - first).offset(first)).all())

    if not descending:  # the offers with the metric, then the others
        merged = metric_rows(0, wanted)
        shown = [row for _, _, row in merged[offset:]]
        if len(merged) < wanted:  # every accelerator's walk ran out: exactly len(merged) have the metric
            shown += other_rows(max(0, offset - len(merged)), wanted - len(merged))
    else:  # reversed: the others (newest id first), then the metric from the highest
        others = _count_others(session, conditions, _lacking(accelerators, factors))
        shown = other_rows(offset, min(wanted, others)) if offset < others else []
        first = max(0, offset - others)
        stop = wanted - others
        if stop > 0:
            shown += [row for _, _, row in metric_rows(first, stop)]
    return _metrics(shown[:limit], accelerators)


def _lacking(accelerators: dict[int, Any], factors: dict[int, float]) -> ColumnElement[bool]:
    """Offers without the metric: no accelerator, or one of those lacking it (an index lookup of them)."""
    missing = [acc_id for acc_id in accelerators if acc_id not in factors]
    condition: ColumnElement[bool] = PriceQuote.accelerator_id.is_(None)
    return or_(condition, PriceQuote.accelerator_id.in_(missing)) if missing else condition


def _count_others(
    session: Session, conditions: list[ColumnElement[bool]], lacking: ColumnElement[bool]
) -> int:
    return int(session.scalar(select(func.count()).select_from(PriceQuote).where(*conditions, lacking)) or 0)


def rank(
    session: Session,
    accelerators: dict[int, Any],
    sheet: SheetFilter,
    sort: str,
    descending: bool,
    quote: PriceQuote,
    throughput: dict[str, float],
) -> int | None:
    """The 0-based position of `quote` in the sorted, filtered sheet (None when not on it): one count."""
    conditions = sheet.conditions()
    on_sheet = session.scalar(select(PriceQuote.id).where(*conditions, PriceQuote.id == quote.id))
    if on_sheet is None:
        return None
    if sort in COLUMN_SORTS:
        keys = [*COLUMN_SORTS[sort], PriceQuote.id]
        own = tuple_(*[getattr(quote, k.key) for k in keys])
        ahead = tuple_(*keys) > own if descending else tuple_(*keys) < own
        return int(
            session.scalar(select(func.count()).select_from(PriceQuote).where(*conditions, ahead)) or 0
        )
    if sort == "accelerator":
        return None  # the chosen offer opens on the first page of this order
    factors = _factors(sort, accelerators, throughput)
    if sheet.accelerator_ids is not None:
        factors = {k: v for k, v in factors.items() if k in sheet.accelerator_ids}
    metric = (
        case(
            *(
                (PriceQuote.accelerator_id == k, PriceQuote.usd_per_accelerator_hour * v)
                for k, v in factors.items()
            ),
            else_=None,
        )
        if factors
        else None
    )
    mine = factors.get(quote.accelerator_id or -1)
    has = PriceQuote.accelerator_id.in_(factors)
    if mine is None:  # among the offers without the metric (last; first when descending)
        lacking = or_(PriceQuote.accelerator_id.is_(None), ~has)
        position = PriceQuote.id > quote.id if descending else PriceQuote.id < quote.id
        before: ColumnElement[bool] = and_(lacking, position)
        if not descending and factors:
            before = or_(has, before)
    else:
        value = quote.usd_per_accelerator_hour * mine
        assert metric is not None
        if descending:
            before = or_(
                PriceQuote.accelerator_id.is_(None),
                ~has,
                metric > value,
                and_(metric == value, PriceQuote.id > quote.id),
            )
        else:
            before = and_(has, or_(metric < value, and_(metric == value, PriceQuote.id < quote.id)))
    return int(session.scalar(select(func.count()).select_from(PriceQuote).where(*conditions, before)) or 0)


def cheapest_per_accelerator(
    session: Session, accelerators: dict[int, Any], sheet: SheetFilter, pricing_models: Sequence[str]
) -> list[OfferMetrics]:
    """The cheapest whole offer per accelerator and pricing model on the filtered sheet (the chart and the
    headline cards), through the price sheet's cheapest-offer query."""
    models = [sheet.pricing_model] if sheet.pricing_model else list(pricing_models)
    extra = [PriceQuote.provider == sheet.provider] if sheet.provider else []
    offers = price_sheet.cheapest_offers(
        session, sheet.accelerator_ids, models, sheet.as_of, extra_conditions=extra
    )
    rows = sorted(offers.values(), key=lambda q: q.id)
    return _metrics(rows, accelerators)
