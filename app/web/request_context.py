"""The outermost middleware: a request id for every request (logs and the `X-Request-ID` response header), one
structured access-log line, and the request's count and latency for /metrics.

Pure ASGI (no BaseHTTPMiddleware): it never buffers a body and costs one context-variable set per request.
Metrics are labelled by the route's template (`/api/v1/accelerators/{item_id}`), never the raw path, so an
attacker cannot grow the number of series; unmatched paths are counted as `(unmatched)`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import ACCESS_LOGGER, REQUEST_ID, request_id_from
from app.observability.metrics import observe_request

access_log = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID_HEADER = b"x-request-id"


def _route_template(scope: Scope) -> str:
    fastapi_scope = scope.get("fastapi")
    candidates = [
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None,
        scope.get("route"),
    ]
    for route in candidates:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    return "(unmatched)"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER:
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from(incoming)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [h for h in message.get("headers", ()) if h[0].lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            observe_request(method, route, status, seconds)
            client: Any = scope.get("client")
            access_log.info(
                "%s %s %s",
                method,
                scope.get("path", ""),
                status,
                extra={
                    "method": method,
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": client[0] if client else None,
                },
            )
            REQUEST_ID.reset(token)


def install_observability(app: Any) -> None:
    """The request-context middleware, /metrics (per PRICEWAR_METRICS) and the database pool's gauges."""
    from fastapi import APIRouter
    from fastapi.responses import Response

    from app.config import get_settings
    from app.db.session import get_engine
    from app.observability import metrics as metrics_module
    from app.observability.metrics import CONTENT_TYPE, instrument_engine, render_latest
    from app.web.auth import require_role

    app.add_middleware(RequestContextMiddleware)
    instrument_engine(get_engine())
    if metrics_module._queue_depth_source is None:  # the jobs code may register a source of its own
        metrics_module.set_job_queue_depth_source(_job_counts)
    mode = get_settings().metrics
    if mode == "off":
        return
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics", dependencies=[require_role(None if mode == "public" else "admin")])
    def metrics() -> Response:
        """Prometheus text format (PRICEWAR_METRICS: admin | public | off)."""
        return Response(render_latest(), media_type=CONTENT_TYPE)

    app.include_router(router)


def _job_counts() -> dict[str, float]:
    """Queued and running background jobs, read at scrape time with a bare DBAPI query (no SQLAlchemy
    transaction: on SQLite that would begin with BEGIN IMMEDIATE and queue behind writers)."""
    from app.db.session import get_engine

    counts = {"queued": 0.0, "running": 0.0}
    connection = get_engine().raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT status, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY status"
        )
        for status, count in cursor.fetchall():
            counts[str(status)] = float(count)
        cursor.close()
    finally:
        connection.close()
    return counts
