"""create_app(): the FastAPI application with the REST API, the pages and the static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import STATIC_DIR, get_settings
from app.services import alert_webhook
from app.web.api import api_router
from app.web.api.system import health_router
from app.web.api_docs import SWAGGER_PREFIX, docs_router, install_openapi_security, swagger_files
from app.web.auth import APP_DEPENDENCIES, announce_setup_token, install_access
from app.web.errors import install_error_handlers
from app.web.pages import page_router
from app.web.plotly_asset import plotly_router
from app.web.request_context import install_observability

API_DESCRIPTION = (
    "Price War Room: hardware price sheets, model configurations, cost estimates and price-war simulations. "
    "Every quantity carries its unit in its name (usd_per_hour, memory_gb, ...)."
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    announce_setup_token()  # no users yet: log a one-time token for /setup
    yield


def create_app() -> FastAPI:
    # APP_DEPENDENCIES: every route checks the caller's role (fail-closed default) and CSRF on unsafe methods.
    # max_body_size: every request body (forms and their uploads included) is refused with 413 from its
    # Content-Length, or while it streams, once past the upload limit: never read or spooled whole first.
    # Routes that take more (the whole-database JSON import) raise it for themselves.
    app = FastAPI(
        title="Price War Room",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by docs_router, behind the same access rule as every read
        dependencies=APP_DEPENDENCIES,
        lifespan=lifespan,
        max_body_size=get_settings().max_upload_bytes + 64 * 1024,
    )
    install_error_handlers(app)
    install_access(app)
    app.include_router(health_router)
    app.include_router(api_router())
    app.include_router(plotly_router)
    app.include_router(docs_router)
    install_openapi_security(app)  # the bearer scheme in the OpenAPI document: /docs shows "Authorize"
    app.mount(SWAGGER_PREFIX, swagger_files, name="swagger")
    app.include_router(page_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_observability(app)  # last: the outermost middleware (request id, access log, metrics)
    alert_webhook.install()  # a commit that changes market prices or scenarios queues the webhook (if set)
    return app


app = create_app()
