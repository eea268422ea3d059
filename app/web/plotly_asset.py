"""plotly.js for the pages: the vendored cartesian partial bundle (app/static/vendor/plotly, the same
version as the Python package's plotly.js, a third of its size), one versioned URL, cached a year,
gzip-compressed. Every trace type the pages draw (scatter, bar, heatmap) is in it."""

from __future__ import annotations

import gzip
from functools import lru_cache

from fastapi import APIRouter, Request, Response
from plotly.offline import get_plotlyjs_version

from app.config import STATIC_DIR

PLOTLY_VERSION = get_plotlyjs_version()
PLOTLY_URL = f"/assets/plotly-cartesian-{PLOTLY_VERSION}.min.js"
BUNDLE = STATIC_DIR / "vendor" / "plotly" / "plotly-cartesian.min.js"
TRACE_TYPES = ("scatter", "bar", "heatmap")  # what the pages draw; all in the cartesian bundle

plotly_router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes]:
    raw = BUNDLE.read_bytes()
    return raw, gzip.compress(raw, compresslevel=6)


@plotly_router.get(PLOTLY_URL)
def plotly_js(request: Request) -> Response:
    raw, compressed = _plotly_bytes()
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type="text/javascript", headers=headers)
    return Response(raw, media_type="text/javascript", headers=headers)
