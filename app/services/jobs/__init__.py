"""Background jobs: long simulations, tornados, sweeps and imports outside the web request.

- records: the `jobs` table as the API shows it (submit with a per-user cap, read, list, cancel).
- runtime: the queue's tasks, heartbeat, cancel and recovery (one JobRuntime per database).
- queue: the queue engine (huey on PostgreSQL or on a SQLite file).

`get_runtime()` is the process's runtime for the configured database; `serve_embedded()` runs one worker
inside `pricewar serve` (make run) and `run_worker()` is `pricewar worker`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import get_settings
from app.services.jobs.runtime import JobCancelled, JobRuntime

__all__ = ["JobCancelled", "JobRuntime", "get_runtime", "run_worker", "serve_embedded", "set_runtime"]

_lock = threading.Lock()
_runtime: JobRuntime | None = None
_pinned = False


def get_runtime() -> JobRuntime:
    """The runtime of the configured database (built again if the settings now name another one)."""
    global _runtime
    with _lock:
        url = get_settings().database_url
        if _runtime is None or (not _pinned and _runtime.database_url != url):
            from app.db.session import get_sessionmaker

            _runtime = JobRuntime(url, get_sessionmaker())
        return _runtime


def set_runtime(runtime: JobRuntime | None) -> None:
    """Tests: point the app's job API at another database's runtime (None: back to the settings)."""
    global _runtime, _pinned
    with _lock:
        _runtime, _pinned = runtime, runtime is not None


@contextmanager
def serve_embedded(runtime: JobRuntime | None = None, workers: int = 1) -> Iterator[JobRuntime]:
    """One worker in this process while the block runs (threads; signals stay with the host)."""
    rt = runtime or get_runtime()
    consumer = rt.consumer(workers)
    consumer.start()
    rt.start_supervisor()
    logging.getLogger("pricewar.jobs").info("embedded job worker started (%s)", rt.name)
    try:
        yield rt
    finally:
        consumer.stop(graceful=True)  # the task in hand finishes (at most 10 s), no message is taken after
        rt.stop_supervisor()


def run_worker(concurrency: int = 1) -> None:
    """`pricewar worker`: consume the queue until SIGINT (finish the current task) or SIGTERM."""
    from huey.consumer import Consumer

    rt = get_runtime()
    rt.start_supervisor()
    consumer = Consumer(
        rt.huey,
        workers=concurrency,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.3,
        max_delay=0.5,
    )
    try:
        consumer.run()
    finally:
        rt.stop_supervisor()
