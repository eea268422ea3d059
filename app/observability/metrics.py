"""Prometheus metrics (prometheus_client): HTTP requests and latencies by route, the database pool and
the job queue's depth.

Several worker processes (`pricewar serve --workers N`, the image runs 2) share one set of numbers through
prometheus_client's multiprocess mode: `pricewar serve` points PROMETHEUS_MULTIPROC_DIR at an empty folder
before any worker starts, each worker writes its samples there, and a scrape of /metrics on any worker sums
them. Without that variable (tests, a bare `uvicorn app.main:app`), the numbers are the one process's.

The job queue's depth is read at scrape time from a source the jobs code registers with
`set_job_queue_depth_source(fn)`: `fn()` returns {state: count}, e.g. {"queued": 3, "running": 1}.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import Engine, event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format, which every Prometheus version scrapes (metric names here need no escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "pricewar_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "pricewar_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DB_POOL_IN_USE = Gauge(
    "pricewar_db_pool_connections_in_use",
    "Database connections checked out of the pool now (summed over live worker processes).",
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "pricewar_db_pool_capacity",
    "Connections the pools may open: pool size plus overflow (summed over live worker processes).",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKOUTS = Counter("pricewar_db_pool_checkouts", "Connections handed out by the pool.")

_queue_depth_source: Callable[[], Mapping[str, float]] | None = None


def set_job_queue_depth_source(source: Callable[[], Mapping[str, float]] | None) -> None:
    """Register the function /metrics calls for the job queue's depth ({state: count}); None removes it."""
    global _queue_depth_source
    _queue_depth_source = source


class _JobQueueCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "pricewar_job_queue_depth", "Background jobs by state, read when scraped.", labels=["state"]
        )
        source = _queue_depth_source
        if source is not None:
            try:
                for state, count in sorted(source().items()):
                    family.add_metric([state], float(count))
            except Exception:  # noqa: BLE001 - a scrape never fails because the queue cannot be read
                log.exception("job queue depth unavailable")
        yield family


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


_instrumented: set[int] = set()


def instrument_engine(engine: Engine) -> None:
    """Count the pool's connections in use (checkout/checkin events) and its capacity; once per engine."""
    if id(engine) in _instrumented:
        return
    _instrumented.add(id(engine))
    pool: Any = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if callable(size):
        DB_POOL_CAPACITY.inc(size() + max(overflow, 0))

    @event.listens_for(engine, "checkout")
    def _checkout(*_args: Any) -> None:
        DB_POOL_IN_USE.inc()
        DB_POOL_CHECKOUTS.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_args: Any) -> None:
        DB_POOL_IN_USE.dec()


def render_latest() -> bytes:
    """The text exposition of every metric: all worker processes' when in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_JobQueueCollector())
        return generate_latest(registry)
    registry = CollectorRegistry()
    registry.register(_ProcessRegistry())
    registry.register(_JobQueueCollector())
    return generate_latest(registry)


class _ProcessRegistry(Collector):
    """This process's metrics from the default registry (so the job collector is not registered globally)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
