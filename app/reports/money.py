"""Amounts in a display currency: USD values times a dated rate, written compactly ($1.2M, €950, ¥3.1B)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "CN¥", "JPY": "JP¥"}


@dataclass(frozen=True)
class Money:
    """How to show a USD amount: the currency, its units per USD and the rate's date and source."""

    code: str = "USD"
    per_usd: float = 1.0
    as_of: date | None = None
    source: str = ""

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.code, self.code + " ")

    def __call__(self, value_usd: float | None, digits: int = 2) -> str:
        """Compact: 950, 12.3k, 1.2M, 3.1B, 2.5T; below 1 three significant digits; beyond 1e15 1e+22."""
        if value_usd is None or (isinstance(value_usd, float) and math.isnan(value_usd)):
            return "—"
        value = value_usd * self.per_usd
        sign = "−" if value < 0 else ""
        magnitude = abs(value)
        if magnitude >= 1e15:
            return f"{sign}{self.symbol}{magnitude:.2g}".replace("e+", "e")
        for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if magnitude >= threshold:
                scaled = magnitude / threshold
                return f"{sign}{self.symbol}{scaled:.{1 if scaled < 100 else 0}f}{suffix}"
        if magnitude >= 100:
            return f"{sign}{self.symbol}{magnitude:,.0f}"
        if magnitude >= 1 or magnitude == 0:
            return f"{sign}{self.symbol}{magnitude:.{digits}f}"
        decimals = max(digits, 2 - math.floor(math.log10(magnitude)))
        return f"{sign}{self.symbol}{magnitude:.{decimals}f}"

    def note(self) -> str:
        """The line a document prints under its figures when they are not in USD."""
        if self.code == "USD":
            return "Amounts in US dollars (USD), as computed."
        when = self.as_of.isoformat() if self.as_of else "undated"
        return (
            f"Amounts converted from USD at {self.per_usd:g} {self.code} per USD (rate of {when}"
            + (f"; {self.source}" if self.source else "")
            + "); the model computes in USD."
        )


USD = Money()
