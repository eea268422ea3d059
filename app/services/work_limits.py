"""Bounds on heavy work (simulations, sensitivities, sweeps, imports): a gate sized to the cores, a
per-caller concurrency limit and a bounded queue; past them the caller is told to come back later.

A slot is held for the whole heavy request (in the web server's thread pool), so at most `workers` heavy
requests compute at once per process, at most `queue` more wait, and one caller holds at most its limit
of both. The gate is per process: with several app processes each has its own.
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Work budget of one request, in simulated firm-months (paths x months x strategies x firms; 40M ≈ 1 s of
# compute on the development machine). Editors and admins may run what the simulator allows for one
# request; anonymous visitors and viewers previews an eighth of it.
EDITOR_WORK_UNITS = 400_000_000
VIEWER_WORK_UNITS = 50_000_000


@dataclass(frozen=True)
class CallerClass:
    """What one kind of caller may do: concurrent heavy requests (running + queued) and the work budget."""

    concurrent: int
    work_units: int


CALLER_CLASSES = {
    "anonymous": CallerClass(concurrent=1, work_units=VIEWER_WORK_UNITS),
    "viewer": CallerClass(concurrent=1, work_units=VIEWER_WORK_UNITS),
    "editor": CallerClass(concurrent=2, work_units=EDITOR_WORK_UNITS),
    "admin": CallerClass(concurrent=2, work_units=EDITOR_WORK_UNITS),
}


class Busy(Exception):
    """No room for this heavy request now: answer 429 with Retry-After."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class WorkGate:
    """At most `workers` holders at once, at most `queue` waiting, at most a caller's limit per caller key."""

    def __init__(self, workers: int, queue: int, wait_seconds: float = 30.0) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.workers = workers
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._cond = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._by_key: Counter[str] = Counter()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    def _retry_after(self) -> int:
        return max(1, math.ceil(self.wait_seconds / 10))

    @contextmanager
    def slot(self, key: str, limit: int) -> Iterator[None]:
        with self._cond:
            if self._by_key[key] >= limit:
                raise Busy(
                    f"you already have {self._by_key[key]} heavy request(s) running or queued "
                    f"(limit {limit}); wait for it to finish",
                    self._retry_after(),
                )
            if self._running >= self.workers and self._waiting >= self.queue:
                raise Busy(
                    "the server is busy with other heavy requests; try again shortly", self._retry_after()
                )
            self._by_key[key] += 1
            self._waiting += 1
            try:
                got = self._cond.wait_for(lambda: self._running < self.workers, timeout=self.wait_seconds)
            finally:
                self._waiting -= 1
            if not got:
                self._release_key(key)
                raise Busy(
                    "the server stayed busy with other heavy requests; try again shortly", self._retry_after()
                )
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._release_key(key)
                self._cond.notify()

    def _release_key(self, key: str) -> None:
        self._by_key[key] -= 1
        if self._by_key[key] <= 0:
            del self._by_key[key]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


_GATE: WorkGate | None = None
_GATE_LOCK = threading.Lock()


def gate(workers: int | None = None, queue: int | None = None) -> WorkGate:
    """The process's gate (made on first use from the settings' sizes)."""
    global _GATE
    with _GATE_LOCK:
        if _GATE is None:
            from app.config import get_settings

            settings = get_settings()
            size = workers or settings.heavy_workers or default_workers()
            if queue is None:
                queue = settings.heavy_queue if settings.heavy_queue >= 0 else 2 * size
            _GATE = WorkGate(size, queue)
        return _GATE


def reset_gate(workers: int | None = None, queue: int | None = None, wait_seconds: float = 30.0) -> WorkGate:
    """Replace the process's gate (settings changed; tests)."""
    global _GATE
    with _GATE_LOCK:
        size = workers or default_workers()
        _GATE = WorkGate(size, 2 * size if queue is None else queue, wait_seconds)
        return _GATE
