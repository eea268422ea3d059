"""An estimate's money in another currency (POST /api/v1/estimates/training and /inference with `currency`).

The engine and every `…_usd…` field stay in USD. The answer adds, beside them:

- `currency` (the code asked for, "USD" by default), `fx_rate_per_usd` (units of that currency per USD: 1 for
  USD), `fx_rate_date` (the date of the rate in effect: the latest dated rate on or before today, as the
  pages use; null for USD) and `fx_rate_source`;
- for each USD money field, the same amount in that currency, named with `in_currency` where the name said
  `usd` (`cost_usd` → `cost_in_currency`, `price_usd_per_gpu_hour` → `price_in_currency_per_gpu_hour`), so a
  `_usd` field never holds euros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.db.fx import DISPLAY_CURRENCIES
from app.reports.money import USD, Money
from app.services import fx
from app.services.errors import ValidationFailed

TRAINING_MONEY_FIELDS = ("cost_usd", "cost_usd_range", "price_usd_per_gpu_hour")
INFERENCE_MONEY_FIELDS = (
    "cost_usd_per_million_output_tokens",
    "cost_usd_per_million_tokens",
    "cost_usd_per_thousand_units",
    "price_usd_per_gpu_hour",
)


def converted_name(field: str) -> str:
    """`cost_usd` → `cost_in_currency`; `price_usd_per_gpu_hour` → `price_in_currency_per_gpu_hour`."""
    return field.replace("_usd", "_in_currency", 1)


def money_in(session: Session, code: str, day: date | None = None) -> Money:
    """The dated rate in effect for `code` (422 naming `currency` when there is none)."""
    code = (code or "USD").upper()
    if code not in DISPLAY_CURRENCIES:
        raise ValidationFailed(f"must be one of {', '.join(DISPLAY_CURRENCIES)}", field="currency")
    found = fx.money(session, code, day)
    if found is None:
        raise ValidationFailed(
            f"no exchange rate for {code} dated on or before {(day or date.today()).isoformat()}; "
            "an editor adds one on /currency",
            field="currency",
        )
    return found


def _scaled(value: Any, rate: float) -> Any:
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [None if v is None else v * rate for v in value]
    return value * rate


def with_currency(result: Mapping[str, Any], money: Money, fields: Sequence[str]) -> dict[str, Any]:
    """`result` plus the currency, the rate used and each money field converted (`…_in_currency…`)."""
    out = dict(result)
    out["currency"] = money.code
    out["fx_rate_per_usd"] = money.per_usd
    out["fx_rate_date"] = None if money is USD or money.code == "USD" else money.as_of
    out["fx_rate_source"] = money.source or None
    for name in fields:
        out[converted_name(name)] = _scaled(result.get(name), money.per_usd)
    return out
