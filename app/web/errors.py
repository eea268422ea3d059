"""Map service errors and database outages to HTTP answers (JSON for the API, a page for browsers)."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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
    if (
        isinstance(exc, DBAPIError)
        and not isinstance(exc, OperationalError)
        and not exc.connection_invalidated
    ):
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
    errors = [{key: _finite(value) for key, value in error.items() if key != "ctx"} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def data_error_handler(request: Request, exc: Exception) -> Response:
    """The database refused a value (out of range, too long, NUL in text): the input's fault, a 422.

    The schemas are meant to refuse such input first; this keeps a gap between them and the columns from
    becoming a 500, without echoing the database's message."""
    assert isinstance(exc, DataError)
    log.warning("database refused a value: %s", exc.orig)
    message = "a value is out of range, too long or contains characters that cannot be stored"
    if _wants_html(request):
        from app.web.pages.render import render_error

        return render_error(request, 422, message)
    detail = [{"loc": ["body"], "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette lists only the first route's)."""
    allowed = []
    for method in HTTP_METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        response = await http_exception_handler(request, exc)
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response
    if exc.status_code == 400 and request.url.path.startswith("/api/"):
        # The framework's 400s are bodies it cannot parse (JSON that is not UTF-8, broken multipart): refused
        # like any other malformed body, 422 naming the body, as documented on every route that takes one.
        message = (
            "The body could not be parsed"
            if exc.detail == "There was an error parsing the body"
            else f"The body could not be parsed: {exc.detail}"
        )
        detail = [{"type": "body_invalid", "loc": ["body"], "msg": message}]
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(DataError, data_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(ServiceError, service_error_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(DBAPIError, database_unavailable_handler)
