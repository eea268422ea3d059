"""Benchmark of background jobs (issue 12).

1. Accept: POST /api/v1/jobs (validation, the per-user cap, the insert, the enqueue), p50/p95 over 200
   requests in-process (TestClient, no network), on SQLite and on PostgreSQL when reachable. Target p95 50 ms.
2. Queue overhead: one `pricewar worker` process, small jobs (1,000 paths, one chunk) one after another:
   (finished_at - created_at) minus the same run stored synchronously in this process (the service behind
   POST /simulations), and the pick-up delay (started_at - created_at). Target <= 50 ms a job.
3. Scale-out: a 100,000-path x 60-month run of 16 strategies (the article preset, 10 chunks of 10,000
   paths) on one worker process, then on two. Target: two >= 1.5x faster.

Run: `.venv/bin/python bench/bench_jobs.py` (PostgreSQL at 127.0.0.1:5432 for parts 1-3 on PostgreSQL, else
SQLite; `BENCH_JOBS_PARTS=accept,overhead` skips the scale-out). The load average is printed: on a shared
2-core machine the figures are upper bounds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="pricewar-bench-jobs-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP / 'default.sqlite3'}")
os.environ.setdefault("PRICEWAR_ENVIRONMENT", "test")

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from app.db.jobs import Job  # noqa: E402
from app.engine.market import preset_from_dict  # noqa: E402
from app.engine.market.chunked import Chunk, run_chunk  # noqa: E402
from app.services import simulations  # noqa: E402
from app.services.jobs import JobRuntime, set_runtime  # noqa: E402
from app.services.jobs.records import Owner, submit  # noqa: E402
from app.services.simulations import PRESET_DIR  # noqa: E402
from tests.conftest import add_user, bearer_token, seeded_database  # noqa: E402

PARTS = os.environ.get("BENCH_JOBS_PARTS", "accept,overhead,scale").split(",")
ARTICLE = json.loads((PRESET_DIR / "article-strategies.json").read_text(encoding="utf-8"))


def load() -> str:
    try:
        return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def backends() -> list[str]:
    from tests.conftest import _postgres_available

    return ["sqlite", "postgresql"] if _postgres_available() else ["sqlite"]


def url_of(engine: Any) -> str:
    return str(engine.url.render_as_string(hide_password=False))


@contextmanager
def workers(url: str, count: int, **settings: str) -> Iterator[None]:
    env = {**os.environ, "DATABASE_URL": url, **{f"PRICEWAR_{k.upper()}": v for k, v in settings.items()}}
    logs = [_TMP / f"worker-{time.monotonic_ns()}-{k}.log" for k in range(count)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
                )
            )
    deadline = time.monotonic() + 60
    while not all(b"consumer started" in log.read_bytes() for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
        time.sleep(0.1)
    try:
        yield
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def wait(factory: Any, ids: list[int], timeout_s: float = 600) -> list[Job]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with factory() as s:
            jobs = list(s.scalars(select(Job).where(Job.id.in_(ids))))
        if all(j.status not in ("queued", "running") for j in jobs):
            bad = [(j.id, j.status, j.error) for j in jobs if j.status != "succeeded"]
            if bad:
                raise RuntimeError(f"jobs failed: {bad}")
            return jobs
        time.sleep(0.01)
    raise RuntimeError("jobs did not finish")


def accept(backend: str, engine: Any, factory: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import app
    from app.web.deps import get_session

    settings_update = {"jobs_max_active_per_user": 10_000}
    from app.config import get_settings

    runtime = JobRuntime(url_of(engine), factory, settings=get_settings().model_copy(update=settings_update))
    runtime.huey.flush()
    set_runtime(runtime)

    def session_override() -> Iterator[Any]:
        session = factory()
        try:
            yield session
            session.commit()
        finally:
            session.close()

    app.dependency_overrides[get_session] = session_override
    with factory() as s:
        token = bearer_token(s, add_user(s, f"bench-{backend}", "editor"))
        s.commit()
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token}"
    body = {"kind": "simulation", "params": {"inputs": ARTICLE, "paths_count": 100_000, "horizon_months": 60}}
    for _ in range(10):  # warm-up
        assert client.post("/api/v1/jobs", json=body).status_code == 202
    times = []
    for _ in range(200):
        start = time.perf_counter()
        answer = client.post("/api/v1/jobs", json=body)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 202, answer.text
    times.sort()
    p95 = times[int(0.95 * len(times)) - 1]
    print(
        f"  accept ({backend}): p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms,"
        f" max {times[-1]:.1f} ms over {len(times)} requests (target p95 <= 50 ms)"
    )
    runtime.huey.flush()
    app.dependency_overrides.pop(get_session, None)
    set_runtime(None)
    with factory.begin() as s:
        s.execute(Job.__table__.delete())


def overhead(backend: str, engine: Any, factory: Any) -> None:
    url = url_of(engine)
    runtime = JobRuntime(url, factory)
    runtime.huey.flush()
    preset = preset_from_dict(ARTICLE)
    scenario = dataclasses.replace(preset.scenario, paths_count=1_000)
    strategies = preset.strategies
    computes = []
    for k in range(10):
        start = time.perf_counter()
        run_chunk(scenario, strategies, k, Chunk(0, 0, 1_000))
        computes.append(time.perf_counter() - start)
    compute_s = statistics.median(computes)
    syncs = []  # the same run stored synchronously (POST /simulations' service): resolve, compute, store
    for k in range(10):
        start = time.perf_counter()
        with factory() as s:
            simulations.create_run(s, {"inputs": ARTICLE, "paths_count": 1_000, "seed": k})
            s.commit()
        syncs.append(time.perf_counter() - start)
    sync_s = statistics.median(syncs)
    with factory.begin() as s:
        user = add_user(s, f"bench-overhead-{backend}", "editor")
        owner = Owner(user.id, user.username)  # type: ignore[attr-defined]
    totals, pickups = [], []
    with workers(url, 1):
        for k in range(30):
            with factory.begin() as s:
                job_id = submit(
                    s, owner, "simulation", {"inputs": ARTICLE, "paths_count": 1_000, "seed": k}, 100
                ).id
            runtime.enqueue(job_id)
            (job,) = wait(factory, [job_id])
            totals.append((job.finished_at - job.created_at).total_seconds())
            pickups.append((job.started_at - job.created_at).total_seconds())
    runtime.huey.storage.close()
    total = statistics.median(totals)
    print(
        f"  queue overhead ({backend}, 1 worker, 30 jobs of 1,000 paths x 16 strategies): median job "
        f"{total * 1000:.0f} ms from created_at to finished_at; the same run stored synchronously "
        f"{sync_s * 1000:.0f} ms (its compute alone {compute_s * 1000:.0f} ms) -> overhead "
        f"{(total - sync_s) * 1000:.0f} ms a job; pick-up (created_at to started_at) p50 "
        f"{statistics.median(pickups) * 1000:.0f} ms, max {max(pickups) * 1000:.0f} ms (target <= 50 ms)"
    )


def scale(backend: str, engine: Any, factory: Any) -> None:
    url = url_of(engine)
    runtime = JobRuntime(url, factory)
    runtime.huey.flush()
    with factory.begin() as s:
        user = add_user(s, f"bench-scale-{backend}", "editor")
        owner = Owner(user.id, user.username)  # type: ignore[attr-defined]
    params = {"inputs": ARTICLE, "paths_count": 100_000, "horizon_months": 60, "seed": 7}
    results = {}
    for count in (1, 2):
        with workers(url, count, jobs_chunk_paths="10000"):
            with factory.begin() as s:
                job_id = submit(s, owner, "simulation", params, 100).id
            start = time.perf_counter()
            runtime.enqueue(job_id)
            (job,) = wait(factory, [job_id])
            results[count] = time.perf_counter() - start
            print(
                f"  100,000 paths x 60 months x 16 strategies, {count} worker(s): {results[count]:.1f} s "
                f"({load()})"
            )
    runtime.huey.storage.close()
    print(f"  speed-up with two workers: {results[1] / results[2]:.2f}x (target >= 1.5x on 2 cores)")


def main() -> None:
    print(f"background jobs ({load()}, {os.cpu_count()} CPUs)")
    for backend in backends():
        with seeded_database(backend, f"bench-{backend}.sqlite3") as engine:
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            if "accept" in PARTS:
                accept(backend, engine, factory)
            if "overhead" in PARTS:
                overhead(backend, engine, factory)
            if "scale" in PARTS and backend == backends()[-1]:
                scale(backend, engine, factory)


if __name__ == "__main__":
    main()
