"""The display currency of one page request: `?currency=EUR` (USD by default) picks a dated rate from the
FX table; `formatting.usd` then writes every amount in it and charts.js rescales the money axes. The API and
the stored numbers stay in USD.

Two dependencies on the page router: an async one sets a per-request holder (context variables set there
reach the handler's thread), a plain one fills it from the database (its own thread, so it fills the holder
rather than setting the variable)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from fastapi import Request

from app.db.fx import DISPLAY_CURRENCIES
from app.reports.money import USD, Money
from app.services import fx
from app.web.deps import SessionDep


@dataclass
class Choice:
    code: str = "USD"
    money: Money = field(default_factory=lambda: USD)
    unknown: str = ""  # a requested code without a rate: shown in USD, with a note


_CHOICE: ContextVar[Choice | None] = ContextVar("display_currency", default=None)


def current() -> Choice:
    return _CHOICE.get() or Choice()


def current_money() -> Money:
    return current().money


async def choose_currency(request: Request) -> None:
    code = (request.query_params.get("currency") or "USD").strip().upper()[:8]
    _CHOICE.set(Choice(code=code))


def load_currency(session: SessionDep) -> None:
    choice = _CHOICE.get()
    if choice is None or choice.code == "USD":
        return
    found = fx.money(session, choice.code) if choice.code in DISPLAY_CURRENCIES else None
    if found is None:
        choice.unknown, choice.code = choice.code, "USD"
    else:
        choice.money = found
