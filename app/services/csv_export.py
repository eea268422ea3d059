"""The one CSV writer of the product: every CSV it emits goes through `to_csv` (RFC 4180 and OWASP's
defence against spreadsheet formula injection).

- RFC 4180: rows end with CRLF; a field holding a comma, a quote, CR or LF is quoted and its quotes doubled,
  so a bare CR inside a name never splits the row.
- Formula injection (OWASP "CSV Injection"): a text cell that starts with `=`, `+`, `-`, `@`, a tab or a CR
  gets a leading `'`, so a spreadsheet shows it as text instead of running it. Numbers (int/float values,
  and text that is a plain decimal number such as "-3.5") are written unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

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


def to_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document (header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([cell(v) for v in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition header of a download (the name limited to safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:120] or "export.csv"
    return {"Content-Disposition": f'attachment; filename="{safe}"'}
