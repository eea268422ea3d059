"""Number formats used on every page: $1.2M, 3.4 months, 0.26 $/1M tok."""

from __future__ import annotations

import math

from jinja2 import Environment


def usd(value: float | None, digits: int = 2) -> str:
    """A USD amount in the request's display currency (USD unless a page asked for another):
    compact, $950, $12.3k, $1.2M, $3.1B; small amounts keep cents."""
    from app.web.currency import current_money  # per request (pages); USD elsewhere

    money = current_money()
    if money.code != "USD":
        return money(value, digits)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "−" if value < 0 else ""
    magnitude = abs(value)
    if magnitude >= 1e15:  # beyond trillions a suffix would run to many digits: scientific notation
        return f"{sign}${magnitude:.2g}".replace("e+", "e")
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{sign}${magnitude / threshold:.{1 if magnitude / threshold < 100 else 0}f}{suffix}"
    if magnitude >= 100:
        return f"{sign}${magnitude:,.0f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{sign}${magnitude:.{digits}f}"
    # Below $1: three significant digits with trailing zeros kept ($0.300, $0.0627), so columns line up.
    decimals = max(digits, 2 - math.floor(math.log10(magnitude)))
    return f"{sign}${magnitude:.{decimals}f}"


def number(value: float | None, digits: int = 3) -> str:
    """Three significant digits with thousands separators or SI-style suffixes for large values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1e15:
        return f"{value:.{digits - 1}e}"
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if magnitude >= threshold:
            return f"{value / threshold:.{digits}g}{suffix}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


def register_filters(env: Environment) -> None:
    env.filters["usd"] = usd
    env.filters["num"] = number
    env.filters["pct"] = percent
