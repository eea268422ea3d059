"""Live pages: the same inputs render a full page (no JavaScript) or, for charts.js, a JSON refresh.

The JSON carries each chart (figure, caption, summary, table), text fragments by element id and the canonical
URL of the view (only non-default inputs), which charts.js puts in the address bar so a link reproduces it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import JSONResponse

from app.web.charts.base import Chart


def canonical_url(path: str, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """`path` with only the inputs that differ from their defaults, in a stable order."""
    query = {}
    for key in defaults:
        value = values.get(key)
        if value is None or value == "":
            continue
        if _same(value, defaults[key]):
            continue
        query[key] = value
    return f"{path}?{urlencode(query)}" if query else path


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return abs(float(value) - float(default)) <= 1e-12 * max(1.0, abs(float(default)))
        except (TypeError, ValueError):
            return False
    return str(value) == str(default)


def live_json(charts: Sequence[Chart], fragments: Mapping[str, str], url: str) -> JSONResponse:
    return JSONResponse(
        {"charts": [c.as_json() for c in charts], "fragments": dict(fragments), "url": url},
        headers={"Cache-Control": "no-store"},
    )


def live_errors(errors: Mapping[str, str]) -> JSONResponse:
    return JSONResponse({"errors": dict(errors)}, status_code=422)
