"""Map service errors and database outages to HTTP answers (JSON for the API, a page for browsers)."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError

from app.services.errors import ConflictError, NotFoundError, ServiceError, ValidationFailed

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"

STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    ValidationFailed: 422,
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _error_body(exc: ServiceError, status: int) -> dict[str, object]:
    if status == 422:
        loc = ["body", exc.field] if exc.field else ["body"]
        return {"detail": [{"loc": loc, "msg": exc.message, "type": "value_error"}]}
    return {"detail": exc.message, **({"field": exc.field} if exc.field else {})}


async def service_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    if _wants_html(request):
        from app.web.pages.render import render_error

        return render_error(request, status, exc.message)
    return JSONResponse(_error_body(exc, status), status_code=status)


async def database_unavailable_handler(request: Request, exc: Exception) -> Response:
    """A database that is down or unreachable is a 503 the client may retry, not a crash."""
    if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError) and not exc.connection_invalidated:
        raise exc
    log.warning("database unavailable: %s", exc)
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    message = "The database is unavailable right now. Please retry in a few seconds."
    if _wants_html(request):
        from app.web.pages.render import render_error

        response = render_error(request, 503, message)
        response.headers.update(headers)
        return response
    return JSONResponse({"detail": message}, status_code=503, headers=headers)


def _finite(value: object) -> object:
    """JSON has no NaN or infinity: echo such inputs back as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def request_validation_handler(request: Request, exc: Exception) -> Response:
    """422 naming each field and the reason (FastAPI's default, safe for NaN/infinity inputs)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: _finite(value) for key, value in error.items() if key != "ctx"} for error in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(ServiceError, service_error_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(DBAPIError, database_unavailable_handler)
