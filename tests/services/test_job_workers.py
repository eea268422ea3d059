"""`pricewar worker` processes, as operators run them: two workers on PostgreSQL share one queue and run
each job (and each chunk of a job) exactly once; a worker killed in the middle of a chunk is replaced and the
chunk is retried, so the job still ends with one stored run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.jobs import Job, JobChunk
from app.db.models import SimulationRun
from app.services.jobs import JobRuntime
from app.services.jobs.records import Owner, submit
from app.services.simulations import PRESET_DIR
from tests.conftest import add_user, seeded_database

CHINA = json.loads((PRESET_DIR / "china-may-2024.json").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[2]


def _url(engine: Any) -> str:
    return str(engine.url.render_as_string(hide_password=False))


@contextmanager
def worker(url: str, log: Path, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PRICEWAR_ENVIRONMENT": "test",
        "PRICEWAR_JOBS_HEARTBEAT_SECONDS": "0.2",
        **{f"PRICEWAR_{k.upper()}": v for k, v in settings.items()},
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(log: Path, timeout_s: float = 60) -> None:
    """Until the worker's consumer is up (huey logs its start)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and b"consumer started" in log.read_bytes():
            return
        time.sleep(0.1)
    pytest.fail(f"the worker did not start: {log.read_bytes()[-2000:]!r}")


def submit_jobs(factory: sessionmaker[Session], runtime: JobRuntime, count: int, paths: int) -> list[int]:
    with factory.begin() as session:
        user = add_user(session, f"workers-{time.monotonic_ns()}", "editor")
        owner = Owner(user.id, user.username)  # type: ignore[attr-defined]
        ids = [
            submit(session, owner, "simulation", {"inputs": CHINA, "paths_count": paths, "seed": k}, 100).id
            for k in range(count)
        ]
    for job_id in ids:
        runtime.enqueue(job_id)
    return ids


def wait_all(factory: sessionmaker[Session], ids: list[int], timeout_s: float) -> list[Job]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with factory() as session:
            jobs = list(session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)))
        if all(j.status not in ("queued", "running") for j in jobs):
            return jobs
        time.sleep(0.2)
    pytest.fail(f"jobs still running after {timeout_s} s: {[(j.id, j.status, j.chunks_done) for j in jobs]}")


@pytest.mark.postgres
def test_two_workers_on_postgresql_share_one_queue_and_run_each_job_once(tmp_path: Path) -> None:
    with seeded_database("postgresql", "unused.sqlite3") as engine:
        url = _url(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        runtime = JobRuntime(url, factory)
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        with worker(url, logs[0], jobs_chunk_paths="1000"), worker(url, logs[1], jobs_chunk_paths="1000"):
            for log in logs:
                wait_ready(log)
            ids = submit_jobs(factory, runtime, count=6, paths=4_000)
            jobs = wait_all(factory, ids, timeout_s=240)
        runtime.huey.storage.close()
        assert [j.status for j in jobs] == ["succeeded"] * 6, [(j.id, j.error) for j in jobs]
        assert all(j.attempts == 1 and j.chunks_done == j.chunks_total == 4 for j in jobs)
        with factory() as session:
            chunks = session.execute(
                select(JobChunk.job_id, JobChunk.chunk_index, JobChunk.attempts, JobChunk.worker).where(
                    JobChunk.job_id.in_(ids)
                )
            ).all()
            runs = session.scalar(
                select(func.count())
                .select_from(SimulationRun)
                .where(SimulationRun.id.in_([j.run_id for j in jobs]))
            )
        assert len(chunks) == 24 and all(c.attempts == 1 for c in chunks)  # no chunk ran twice
        assert len({c.worker for c in chunks}) == 2, "both workers took chunks from the one queue"
        assert runs == 6 and len({j.run_id for j in jobs}) == 6  # one stored run per job


def test_a_killed_worker_is_replaced_and_its_chunk_retried(tmp_path: Path) -> None:
    with seeded_database("sqlite", f"kill-{time.monotonic_ns()}.sqlite3") as engine:
        url = _url(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        runtime = JobRuntime(url, factory)
        runtime.huey.flush()
        settings = {"jobs_chunk_paths": "25000", "jobs_stale_after_seconds": "3"}
        (job_id,) = submit_jobs(factory, runtime, count=1, paths=50_000)
        with worker(url, tmp_path / "a.log", **settings) as first:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until it is computing a chunk
                with factory() as session:
                    busy = session.scalar(
                        select(JobChunk.chunk_index).where(
                            JobChunk.job_id == job_id, JobChunk.status == "running"
                        )
                    )
                if busy is not None:
                    break
                time.sleep(0.02)
            assert busy is not None, (tmp_path / "a.log").read_bytes()[-2000:]
            first.kill()  # SIGKILL: no clean-up, the chunk stays "running" while its heartbeat goes stale
            first.wait()
        with factory() as session:
            assert session.get(Job, job_id).status == "running"  # type: ignore[union-attr]
        with worker(url, tmp_path / "b.log", **settings):
            (job,) = wait_all(factory, [job_id], timeout_s=180)
        runtime.huey.storage.close()
        assert job.status == "succeeded", job.error
        with factory() as session:
            retried = session.get(JobChunk, (job_id, busy))
            runs = session.scalar(select(func.count()).select_from(SimulationRun))
        assert retried is not None and retried.attempts == 2 and retried.status == "done"
        assert runs == 1
