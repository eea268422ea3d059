"""plotly.js served from the installed Python package: one versioned URL, cached a year, gzip-compressed."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import plotly
from fastapi import APIRouter, Request, Response
from plotly.offline import get_plotlyjs_version

PLOTLY_VERSION = get_plotlyjs_version()
PLOTLY_URL = f"/assets/plotly-{PLOTLY_VERSION}.min.js"

plotly_router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes]:
    raw = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return raw, gzip.compress(raw, compresslevel=6)


@plotly_router.get(PLOTLY_URL)
def plotly_js(request: Request) -> Response:
    raw, compressed = _plotly_bytes()
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type="text/javascript", headers=headers)
    return Response(raw, media_type="text/javascript", headers=headers)
