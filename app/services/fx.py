"""Display currency: the dated FX-rate table (editors add rates; every change is audited) and the Money that
pages, CSVs and the board pack format amounts with. The model and the API compute in USD."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.fx import DISPLAY_CURRENCIES, FxRate
from app.reports.money import USD, Money
from app.services import crud
from app.services.errors import ValidationFailed


def rate_on(session: Session, code: str, day: date | None = None) -> FxRate | None:
    """The latest rate of `code` dated on or before `day` (default today)."""
    query = (
        select(FxRate)
        .where(FxRate.currency == code, FxRate.as_of <= (day or date.today()))
        .order_by(FxRate.as_of.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def money(session: Session, code: str, day: date | None = None) -> Money | None:
    """How to show USD amounts in `code` (None: no rate for it on that day)."""
    code = (code or "USD").upper()
    if code == "USD":
        return USD
    if code not in DISPLAY_CURRENCIES:
        return None
    row = rate_on(session, code, day)
    return None if row is None else Money(code, row.units_per_usd, row.as_of, row.source)


def rates(session: Session) -> list[FxRate]:
    """Every dated rate, newest first per currency."""
    return list(session.scalars(select(FxRate).order_by(FxRate.currency, FxRate.as_of.desc())))


def add_rate(session: Session, values: dict[str, Any]) -> FxRate:
    """A new dated rate (an audited create): `currency`, `units_per_usd` > 0, `as_of`, `source`."""
    code = str(values.get("currency", "")).upper()
    if code not in DISPLAY_CURRENCIES or code == "USD":
        raise ValidationFailed(
            f"currency must be one of {', '.join(DISPLAY_CURRENCIES[1:])}", field="currency"
        )
    rate = values.get("units_per_usd")
    if not isinstance(rate, int | float) or not 0 < rate < 1e6:
        raise ValidationFailed(
            "units_per_usd must be a number above 0 and below 1,000,000", field="units_per_usd"
        )
    if not isinstance(values.get("as_of"), date):
        raise ValidationFailed("as_of must be a date (YYYY-MM-DD)", field="as_of")
    if not str(values.get("source") or "").strip():
        raise ValidationFailed("say where the rate comes from", field="source")
    if session.scalar(select(FxRate.id).where(FxRate.currency == code, FxRate.as_of == values["as_of"])):
        raise ValidationFailed(f"{code} already has a rate dated {values['as_of']}", field="as_of")
    return crud.create_row(
        session,
        FxRate,
        {
            "currency": code,
            "units_per_usd": float(rate),
            "as_of": values["as_of"],
            "source": values["source"],
        },
    )
