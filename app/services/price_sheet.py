"""The price sheet is effective-dated: a price change closes the current row and adds a new dated one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, select, union_all
from sqlalchemy.orm import Session

from app.db.models import Accelerator, PriceQuote
from app.services import audit, crud
from app.services.errors import ConflictError, ValidationFailed

# Fields whose change is a new price (a new dated row); the others are corrected in place.
PRICE_FIELDS = frozenset(
    {"usd_per_hour", "usd_per_accelerator_hour", "discount_percent", "pricing_model", "accelerator_count"}
)
# A price per accelerator-hour above this is a typo, not a quote (the API's bound; an instance may hold
# up to 1000 times it).
MAX_USD_PER_ACCELERATOR_HOUR = 10_000.0


def prepare_quote(values: dict[str, Any]) -> dict[str, Any]:
    """Fill the per-accelerator price and check the dates make sense."""
    values = dict(values)
    if values.get("usd_per_accelerator_hour") is None and values.get("usd_per_hour") is not None:
        values["usd_per_accelerator_hour"] = values["usd_per_hour"] / values["accelerator_count"]
        if values["usd_per_accelerator_hour"] > MAX_USD_PER_ACCELERATOR_HOUR:
            raise ValidationFailed(
                f"{values['usd_per_hour']:,.6g} USD/h over {values['accelerator_count']} accelerators is "
                f"more than {MAX_USD_PER_ACCELERATOR_HOUR:,.0f} USD per accelerator-hour",
                field="usd_per_hour",
            )
    start, end = values.get("effective_from"), values.get("effective_to")
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("effective_to must be after effective_from", field="effective_to")
    return values


def in_effect(as_of: date) -> ColumnElement[bool]:
    """Rows valid on `as_of`: started on or before it, not ended by it."""
    return (PriceQuote.effective_from <= as_of) & or_(
        PriceQuote.effective_to.is_(None), PriceQuote.effective_to > as_of
    )


def change_quote(session: Session, quote: PriceQuote, values: dict[str, Any], version: int) -> PriceQuote:
    """Correct descriptive fields in place; a new price closes this row and adds a dated successor."""
    if quote.version != version:
        raise ConflictError(
            f"price quote {quote.id} was changed by someone else: your version {version}, "
            f"current version {quote.version}",
            field="version",
        )
    if not PRICE_FIELDS & {k for k, v in values.items() if getattr(quote, k) != v}:
        return crud.update_row(session, quote, prepare_quote(values), version)
    return _add_dated_price(session, quote, values, version, "price_change", "")


def _add_dated_price(
    session: Session, quote: PriceQuote, values: dict[str, Any], version: int, action: str, note: str
) -> PriceQuote:
    """Close `quote` and add its dated successor with `values`; one audit entry for the pair."""
    if quote.effective_to is not None:
        raise ConflictError(
            f"price quote {quote.id} is historical (ended {quote.effective_to}); change the current row"
        )
    values = dict(values)
    start = values.pop("effective_from", None) or date.today()
    if start <= quote.effective_from:
        raise ValidationFailed(
            f"a new price must start after the current one ({quote.effective_from})", field="effective_from"
        )
    successor = {column: getattr(quote, column) for column in _copied_columns()}
    successor.update(values)
    if "usd_per_hour" in values and "usd_per_accelerator_hour" not in values:
        successor["usd_per_accelerator_hour"] = None
    successor.update(effective_from=start, effective_to=None)
    before = audit.snapshot(quote)
    crud.update_row(session, quote, {"effective_to": start}, version, record=False)
    row = crud.create_row(session, PriceQuote, prepare_quote(successor), record=False)
    after = audit.snapshot(row)
    changes = audit.describe_changes(
        before, {k: v for k, v in after.items() if k not in ("id", "effective_from")}
    )
    audit.record(
        session,
        action,
        PriceQuote.__tablename__,
        row.id,
        f"{audit.label_of(row)}: {changes} from {start.isoformat()}{note}",
        before=before,
        after=after,
    )
    return row


def restore_quote(session: Session, old: PriceQuote, effective_from: date | None = None) -> PriceQuote:
    """Bring back an earlier price by adding a new dated row with it (history is never rewritten)."""
    current = current_quote_of_offer(session, old)
    restored = {field: getattr(old, field) for field in sorted(PRICE_FIELDS)}
    note = f" (restored the price of {old.effective_from.isoformat()})"
    if current is None:
        copied = {column: getattr(old, column) for column in _copied_columns()}
        copied.update(effective_from=effective_from or date.today(), effective_to=None)
        row = crud.create_row(session, PriceQuote, prepare_quote(copied), record=False)
        audit.record(
            session,
            "restore",
            PriceQuote.__tablename__,
            row.id,
            f"{audit.label_of(row)}: offered again at "
            f"{audit.format_value('usd_per_hour', row.usd_per_hour)} USD/h "
            f"from {row.effective_from.isoformat()}{note}",
            after=audit.snapshot(row),
        )
        return row
    if current.id == old.id:
        raise ConflictError(f"price quote {old.id} is the current price; there is nothing to restore")
    if all(getattr(current, f) == v for f, v in restored.items()):
        raise ConflictError(
            f"the current price ({current.usd_per_hour:g} USD/h) already equals the restored one"
        )
    values: dict[str, Any] = {**restored, "effective_from": effective_from or date.today()}
    return _add_dated_price(session, current, values, current.version, "restore", note)


def current_quote_of_offer(session: Session, quote: PriceQuote) -> PriceQuote | None:
    """The row in effect now (open-ended) for the same provider, instance, region and pricing model."""
    query = (
        select(PriceQuote)
        .where(
            PriceQuote.provider == quote.provider,
            PriceQuote.instance_type == quote.instance_type,
            PriceQuote.region == quote.region,
            PriceQuote.pricing_model == quote.pricing_model,
            PriceQuote.effective_to.is_(None),
        )
        .order_by(PriceQuote.effective_from.desc(), PriceQuote.id.desc())
    )
    return session.scalars(query).first()


def _copied_columns() -> list[str]:
    skip = {"id", "created_at", "updated_at", "version"}
    return [c.name for c in PriceQuote.__table__.columns if c.name not in skip]


def is_whole_offer() -> ColumnElement[bool]:
    """A price one can rent as it stands: GCP's GPU-only attach prices need a host VM added (TPU slices and
    whole instances don't)."""
    return PriceQuote.price_scope != "gpu_only_component"


def _cheapest_id(
    pricing_model: str,
    as_of: date,
    min_accelerators_per_instance: int,
    extra_conditions: Sequence[ColumnElement[bool]] = (),
) -> Any:
    """The id of the cheapest whole offer in effect for the enclosing accelerator row and `pricing_model`:
    a LIMIT 1 walk of ix_price_quotes_cheapest (accelerator_id, pricing_model, usd_per_accelerator_hour, id)
    that stops at the first row in effect — never a read of the whole sheet."""
    query = (
        select(PriceQuote.id)
        .where(
            PriceQuote.accelerator_id == Accelerator.id,
            PriceQuote.pricing_model == pricing_model,
            is_whole_offer(),
            in_effect(as_of),
            *extra_conditions,
        )
        .order_by(PriceQuote.usd_per_accelerator_hour, PriceQuote.id)
        .limit(1)
    )
    if min_accelerators_per_instance > 1:
        query = query.where(PriceQuote.accelerator_count >= min_accelerators_per_instance)
    return query.correlate(Accelerator).scalar_subquery()


def cheapest_offers(
    session: Session,
    accelerator_ids: Iterable[int] | None = None,
    pricing_models: Sequence[str] = ("on_demand",),
    as_of: date | None = None,
    min_accelerators_per_instance: int = 1,
    *,
    extra_conditions: Sequence[ColumnElement[bool]] = (),
) -> dict[tuple[int, str], PriceQuote]:
    """(accelerator id, pricing model) → the quote with the lowest price per accelerator-hour in effect on
    `as_of` (default today), whole offers only, ties broken by id; with `min_accelerators_per_instance`, only
    instances with at least that many accelerators; `extra_conditions` narrow the sheet further (the hardware
    page's provider filter). Pairs without such an offer are absent.

    One SQL statement whatever the size of the sheet: per (accelerator, pricing model) an index walk that
    stops at the first row in effect, then the chosen rows by primary key. The pages, the estimates, the
    sweeps and the simulator all read prices through here."""
    day = as_of or date.today()
    models = list(dict.fromkeys(pricing_models))
    ids = None if accelerator_ids is None else sorted(set(accelerator_ids))
    if not models or ids == []:
        return {}
    chosen = []
    for model in models:
        pick = select(_cheapest_id(model, day, min_accelerators_per_instance, extra_conditions))
        pick = pick.where(Accelerator.id.in_(ids)) if ids is not None else pick.select_from(Accelerator)
        chosen.append(pick)
    union = chosen[0] if len(chosen) == 1 else union_all(*chosen)
    rows = session.scalars(select(PriceQuote).where(PriceQuote.id.in_(union)))
    wanted = set(models)
    return {
        (row.accelerator_id, row.pricing_model): row
        for row in rows
        if row.accelerator_id is not None and row.pricing_model in wanted
    }


def cheapest_quote(
    session: Session,
    accelerator_id: int,
    pricing_model: str = "on_demand",
    as_of: date | None = None,
    min_accelerators_per_instance: int = 1,
) -> PriceQuote | None:
    """The lowest price per accelerator-hour in effect for this accelerator and pricing model."""
    offers = cheapest_offers(session, [accelerator_id], [pricing_model], as_of, min_accelerators_per_instance)
    return offers.get((accelerator_id, pricing_model))


def accelerator_by_name(session: Session, name: str) -> Accelerator | None:
    return session.scalars(select(Accelerator).where(Accelerator.name == name)).first()
