"""The one CSV writer of the product: every CSV it emits goes through `to_csv` (RFC 4180 and OWASP's
defence against spreadsheet formula injection).

- RFC 4180: rows end with CRLF; a field holding a comma, a quote, CR or LF is quoted and its quotes doubled,
  so a bare CR inside a name never splits the row.
- Formula injection (OWASP "CSV Injection"): a text cell that starts with `=`, `+`, `-`, `@`, a tab or a CR
  gets a leading `'`, so a spreadsheet shows it as text instead of running it. Numbers (int/float values,
  and text that is a plain decimal number such as "-3.5") are written unchanged.
- Display currency: a page's CSV follows the page's `?currency=` (`to_csv(…, money=…, money_columns=…)`): the
  amounts of the money columns, which are USD as computed, are converted with the same dated rate the page
  uses, and those columns' headers name the currency ("cash_eur_p50", "Median cash (EUR)"). The API's
  `?format=csv` lists stay in USD.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.reports.money import USD, Money

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def cell(value: Any) -> str | int | float:
    """One value as a safe CSV field: None → empty, numbers as they are, dict/list as JSON text, text
    neutralised when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ""
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_USD_WORD = re.compile(r"(?<![A-Za-z])(usd|USD)(?![A-Za-z])")


def currency_header(name: str, code: str) -> str:
    """A money column's header in `code`: "usd"/"USD" as a word becomes the code ("cash_usd_p50" →
    "cash_eur_p50", "USD per 1M tokens" → "EUR per 1M tokens"), "$" becomes the code, and a header naming no
    currency gets " (EUR)"."""
    if code == "USD":
        return name
    renamed = _USD_WORD.sub(lambda m: code.lower() if m.group(1) == "usd" else code, name)
    renamed = renamed.replace("$", code)
    return renamed if renamed != name else f"{name} ({code})"


def convert(value: Any, money: Money, digits: int | None = None) -> Any:
    """A USD amount in `money`'s currency (numbers only; text and empty cells unchanged), rounded to `digits`
    decimals when given (no float noise from the multiplication)."""
    if money.code == "USD" or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return value
    converted = value * money.per_usd
    return converted if digits is None else round(converted, digits)


def to_csv(
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    money: Money = USD,
    money_columns: Mapping[int, int | None] | None = None,
) -> str:
    """A whole CSV document (header row first). `money_columns` maps the index of each column holding USD
    amounts to the decimals it keeps after conversion (None: unrounded); with a `money` other than USD those
    cells are converted and those headers renamed (`currency_header`)."""
    columns = dict(money_columns or {})
    convert_money = money.code != "USD" and bool(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if convert_money:
        header = [currency_header(str(h), money.code) if i in columns else h for i, h in enumerate(header)]
    writer.writerow([cell(v) for v in header])
    for row in rows:
        if convert_money:
            row = [convert(v, money, columns[i]) if i in columns else v for i, v in enumerate(row)]
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition header of a download (the name limited to safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:120] or "export.csv"
    return {"Content-Disposition": f'attachment; filename="{safe}"'}
