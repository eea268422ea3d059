"""/docs served offline: Swagger UI 5 (OpenAPI 3.1) from the swagger-ui-py package's static files,
started by a static script (no CDN,
no inline script, so it works with no network and under the strict Content-Security-Policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.web.auth import require_role

SWAGGER_PREFIX = "/assets/swagger"

docs_router = APIRouter(include_in_schema=False)
swagger_files = StaticFiles(directory=Path(swagger_ui.__file__).parent / "static")

DOCS_HTML = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Price War Room · API</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{SWAGGER_PREFIX}/swagger-ui.css">
  <link rel="stylesheet" href="/static/css/api-docs.css">
</head>
<body>
  <header class="pwr-docs-bar">
    <a href="/">← Price War Room</a>
    <span>REST API · every quantity carries its unit in its name</span>
    <button type="button" data-theme-toggle hidden>Theme: auto</button>
  </header>
  <main><div id="swagger-ui" data-openapi-url="/openapi.json"></div></main>
  <script src="{SWAGGER_PREFIX}/swagger-ui-bundle.js"></script>
  <script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


@docs_router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return HTMLResponse(DOCS_HTML)


@docs_router.get("/openapi.json")
def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI document: like /docs, readable as any page is (anonymously only with anonymous read on)."""
    return JSONResponse(request.app.openapi())


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (pwr_…): created by an admin on /admin or POST /api/v1/tokens; its role "
    "(viewer, editor, admin) bounds what it may do. Reads also work without one while anonymous reading is "
    "on.",
}


def install_openapi_security(app: FastAPI) -> None:
    """Declare the bearer-token scheme in the OpenAPI document, so /docs offers "Authorize" and clients know
    how to authenticate: every API operation accepts a token; reads may also go anonymous ({})."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = BEARER_SCHEME
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in operations.values():
                if isinstance(operation, dict) and "security" not in operation:
                    operation["security"] = [{"bearerAuth": []}, {}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


@docs_router.get("/favicon.ico", dependencies=[require_role(None)])
def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the site's SVG icon."""
    return RedirectResponse("/static/favicon.svg", status_code=301)
