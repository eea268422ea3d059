"""/docs served offline: Swagger UI 5 (OpenAPI 3.1) from the swagger-ui-py package's static files,
started by a static script (no CDN,
no inline script, so it works with no network and under the strict Content-Security-Policy)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_PREFIX = "/assets/swagger"

docs_router = APIRouter(include_in_schema=False)
swagger_files = StaticFiles(directory=Path(swagger_ui.__file__).parent / "static")

DOCS_HTML = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Price War Room · API</title>
  <link rel="stylesheet" href="{SWAGGER_PREFIX}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/openapi.json"></div>
  <script src="{SWAGGER_PREFIX}/swagger-ui-bundle.js"></script>
  <script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


@docs_router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return HTMLResponse(DOCS_HTML)
