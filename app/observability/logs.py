"""Structured logs: one JSON object per line (PRICEWAR_LOG_FORMAT=json, the default) or plain text, every
record carrying the id of the request it belongs to.

The request id comes from the caller's `X-Request-ID` when it is a short token (a proxy's or load balancer's
id is kept, so one id follows a request across machines), else a new random one; the response echoes it. It
lives in a context variable, which Starlette copies into the thread that runs a sync handler, so the app's
own log lines inside a request carry it too.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("pricewar_request_id", default=None)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

ACCESS_LOGGER = "pricewar.access"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def request_id_from(header_value: str | None) -> str:
    """The caller's id if it is a plain short token, else a fresh one (never a log-injection vector)."""
    if header_value and _INCOMING_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or None outside a request) to every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def logging_config(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary for the app, uvicorn and Alembic (also given to uvicorn as its
    `log_config`, so every worker process logs the same way). Uvicorn's own access log is replaced by the
    app's (`pricewar.access`), which has the request id, the route and the duration."""
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.observability.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            "alembic": {"level": "INFO", "handlers": [], "propagate": True},
            "sqlalchemy.engine": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
