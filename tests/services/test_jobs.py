"""Background jobs end to end in one process: the REST API on a real database of its own, the embedded
worker (threads, as `make run` runs it) and the recovery of stalled work.

Both backends: SQLite (the queue is a file beside the database) and PostgreSQL (the queue in the schema
pricewar_queue). Speed is measured in bench/bench_jobs.py, never here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings
from app.db.access import User
from app.db.base import utc_now
from app.db.jobs import Job, JobChunk
from app.db.models import SimulationRun
from app.engine.market import preset_from_dict
from app.engine.market.chunked import run_chunked
from app.services import jobs as job_service
from app.services.jobs import JobRuntime, serve_embedded
from app.services.simulations import PRESET_DIR
from tests.conftest import add_user, bearer_token, seeded_database

CHINA = json.loads((PRESET_DIR / "china-may-2024.json").read_text(encoding="utf-8"))


@dataclass
class Env:
    runtime: JobRuntime
    factory: sessionmaker[Session]
    editor: Any  # TestClient as an editor
    viewer: Any
    admin: Any
    anonymous: Any

    def wait(
        self, client: Any, job_id: int, timeout_s: float = 90, *, until: Any = None
    ) -> list[dict[str, Any]]:
        """Poll GET /jobs/{id} until it ends (or `until(view)`); every view seen, in order."""
        seen = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            view = client.get(f"/api/v1/jobs/{job_id}").json()
            seen.append(view)
            if (until and until(view)) or (not until and view["status"] not in ("queued", "running")):
                return seen
            time.sleep(0.02)
        pytest.fail(f"job {job_id} still {seen[-1]['status']} after {timeout_s} s: {seen[-1]}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[tuple[Any, dict[str, str]]]:
    """A migrated, seeded database of this module's own, with an editor, a viewer and an admin (tokens)."""
    with seeded_database(request.param, "jobs.sqlite3") as engine:
        with Session(engine) as session:
            session.execute(delete(User).where(User.username.like("job-%")))
            tokens = {}
            for name, role in (("job-editor", "editor"), ("job-viewer", "viewer"), ("job-admin", "admin")):
                tokens[role] = bearer_token(session, add_user(session, name, role))
            session.commit()
        yield engine, tokens


@pytest.fixture
def env(database: tuple[Any, dict[str, str]]) -> Iterator[Env]:
    from fastapi.testclient import TestClient

    from app.main import app
    from app.web.deps import get_session

    engine, tokens = database
    settings = get_settings().model_copy(
        update={
            "jobs_chunk_paths": 1_000,
            "jobs_heartbeat_seconds": 0.1,
            "jobs_stale_after_seconds": 2.0,
            "jobs_max_active_per_user": 3,
        }
    )
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as session:  # every test starts with no jobs
        session.execute(delete(Job))
    runtime = JobRuntime(engine.url.render_as_string(hide_password=False), factory, settings=settings)
    runtime.huey.flush()

    def session_override() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    app.dependency_overrides[get_session] = session_override
    job_service.set_runtime(runtime)
    clients = {}
    try:
        for role in ("editor", "viewer", "admin", "anonymous"):
            clients[role] = TestClient(app)
            if role in tokens:
                clients[role].headers["Authorization"] = f"Bearer {tokens[role]}"
        yield Env(
            runtime, factory, clients["editor"], clients["viewer"], clients["admin"], clients["anonymous"]
        )
    finally:
        job_service.set_runtime(None)
        app.dependency_overrides.pop(get_session, None)
        runtime.huey.flush()
        runtime.huey.storage.close()


def simulation(paths: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "simulation", "params": {"inputs": CHINA, "paths_count": paths, "seed": 11, **extra}}


def test_a_job_runs_to_completion_with_progress_on_the_way(env: Env) -> None:
    answer = env.editor.post("/api/v1/jobs", json=simulation(6_000, name="background run"))
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["status"] == "queued" and job["progress_fraction"] == 0 and job["run_id"] is None
    with serve_embedded(env.runtime):
        seen = env.wait(env.editor, job["id"])
    final = seen[-1]
    assert final["status"] == "succeeded", final
    assert final["error"] is None and final["progress_fraction"] == 1
    assert final["started_at"] and final["finished_at"] and final["created_at"] <= final["started_at"]
    assert any(0 < v["progress_fraction"] < 1 for v in seen), [v["progress_fraction"] for v in seen]
    progress = [v["progress_fraction"] for v in seen]
    assert progress == sorted(progress)  # never goes backwards
    assert final["chunks_total"] == 6 and final["chunks_done"] == 6

    run = env.editor.get(f"/api/v1/simulations/{final['run_id']}").json()
    assert run["name"] == "background run" and run["paths_count"] == 6_000 and run["seed"] == 11
    # the stored result is the chunked run of the same seed, computed here in one process
    preset = preset_from_dict(run["inputs"])
    expected = run_chunked(preset.scenario, preset.strategies, 11, 6_000, 1_000).to_dict()
    assert run["results"]["strategies"][0]["survival_curve"] == expected["strategies"][0]["survival_curve"]
    assert run["results"]["strategies"][0]["cash_usd"] == expected["strategies"][0]["cash_usd"]
    with env.factory() as session:  # the chunks' partial results are dropped once the run is stored
        assert session.scalars(select(JobChunk.data).where(JobChunk.job_id == job["id"])).all() == [None] * 6


def test_cancel_stops_a_running_job(env: Env) -> None:
    job = env.editor.post("/api/v1/jobs", json=simulation(60_000)).json()
    with serve_embedded(env.runtime):
        env.wait(env.editor, job["id"], until=lambda v: v["chunks_done"] >= 2)
        cancelled = env.editor.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["error"] == "cancelled by job-editor" and cancelled.json()["finished_at"]
        time.sleep(1.5)  # the chunk that was running when the cancel came finishes and is thrown away
        with env.factory() as session:
            done_then = session.scalar(select(Job.chunks_done).where(Job.id == job["id"]))
            running = session.scalars(
                select(JobChunk.chunk_index).where(JobChunk.job_id == job["id"], JobChunk.status == "running")
            ).all()
        assert running == [] and done_then < 60
        time.sleep(1.0)
        final = env.editor.get(f"/api/v1/jobs/{job['id']}").json()
        assert (
            final["status"] == "cancelled" and final["chunks_done"] == done_then and final["run_id"] is None
        )
        # the worker is free again: the next job runs at once
        small = env.editor.post("/api/v1/jobs", json=simulation(1_000)).json()
        assert env.wait(env.editor, small["id"], timeout_s=60)[-1]["status"] == "succeeded"
    with env.factory() as session:
        assert session.scalar(select(SimulationRun.id).where(SimulationRun.path_count == 60_000)) is None
    again = env.editor.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def test_tornado_job_reports_progress_and_its_result(env: Env) -> None:
    body = {"inputs": CHINA, "tornado": {"paths_count": 2_000, "outcome_month": 12}}
    job = env.viewer.post("/api/v1/jobs", json={"kind": "tornado", "params": body}).json()
    with serve_embedded(env.runtime):
        seen = env.wait(env.viewer, job["id"])
    assert seen[-1]["status"] == "succeeded", seen[-1]
    result = seen[-1]["result"]
    assert result["outcome_month"] == 12 and result["bars"] and result["strategy"]
    assert any(0 < v["progress_fraction"] < 1 for v in seen)


def test_a_job_that_fails_says_why_in_a_sentence(env: Env) -> None:
    inputs = json.loads(json.dumps(CHINA))
    inputs["scenario"]["market"]["volume_million_tokens_per_month"] = 1e300  # overflows the cash sums
    job = env.editor.post("/api/v1/jobs", json={"kind": "simulation", "params": {"inputs": inputs}})
    if job.status_code == 422:  # refused before queueing: also a readable answer
        assert "volume" in job.text
        return
    with serve_embedded(env.runtime):
        final = env.wait(env.editor, job.json()["id"])[-1]
    assert final["status"] == "failed" and final["error"] and "Traceback" not in final["error"]


def test_jobs_queued_before_a_restart_run_when_a_worker_starts(env: Env) -> None:
    ids = [env.editor.post("/api/v1/jobs", json=simulation(1_000)).json()["id"] for _ in range(2)]
    time.sleep(0.3)  # no worker: they wait in the queue (the web process could restart now)
    assert all(env.editor.get(f"/api/v1/jobs/{i}").json()["status"] == "queued" for i in ids)
    later = JobRuntime(env.runtime.database_url, env.factory, settings=env.runtime.settings)  # a new process
    with serve_embedded(later):
        assert all(env.wait(env.editor, i)[-1]["status"] == "succeeded" for i in ids)
    later.huey.storage.close()


def test_a_silent_worker_is_retried_then_the_job_fails_with_the_reason(env: Env) -> None:
    job_id = env.editor.post("/api/v1/jobs", json=simulation(2_000)).json()["id"]
    env.runtime.huey.flush()
    env.runtime.start_job(job_id)  # plans 2 chunks and queues them; nobody runs them
    env.runtime.huey.flush()
    old = utc_now() - timedelta(seconds=30)
    with env.factory.begin() as session:  # chunk 0 taken by a worker that then died
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.chunk_index == 0)
            .values(status="running", attempts=1, worker="gone:1", heartbeat_at=old)
        )
    env.runtime.reap()
    with env.factory() as session:
        chunk = session.get(JobChunk, (job_id, 0))
        assert chunk is not None and chunk.status == "pending" and chunk.worker is None
    assert env.runtime.huey.pending_count() >= 1  # queued again
    with env.factory.begin() as session:  # and died again on the last allowed attempt
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.chunk_index == 0)
            .values(status="running", attempts=3, worker="gone:2", heartbeat_at=old)
        )
    env.runtime.reap()
    final = env.editor.get(f"/api/v1/jobs/{job_id}").json()
    assert final["status"] == "failed"
    assert "chunk 1 of 2 was interrupted 3 times" in final["error"] and "killed" in final["error"]


def test_a_stalled_whole_job_is_queued_again(env: Env) -> None:
    body = {"inputs": CHINA, "tornado": {"paths_count": 200}}
    job_id = env.viewer.post("/api/v1/jobs", json={"kind": "tornado", "params": body}).json()["id"]
    env.runtime.huey.flush()
    with env.factory.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="running", attempts=1, worker="gone:1", heartbeat_at=utc_now() - timedelta(seconds=30)
            )
        )
    env.runtime.reap()
    assert env.viewer.get(f"/api/v1/jobs/{job_id}").json()["status"] == "queued"
    with serve_embedded(env.runtime):
        final = env.wait(env.viewer, job_id)[-1]
    assert final["status"] == "succeeded" and final["attempts"] == 2


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"kind": "simulation", "params": {"inputs": CHINA, "paths_count": "many"}},
            ["body", "params", "paths_count"],
        ),
        ({"kind": "simulation", "params": {"inputs": CHINA, "scenario_id": 1}}, ["body", "params"]),
        ({"kind": "sweep", "params": {"kind": "both"}}, ["body", "params", "kind"]),
        ({"kind": "import", "params": {"dry_run": True}}, ["body", "params", "csv"]),
        ({"kind": "video", "params": {}}, ["body", "kind"]),
        ({"kind": "simulation"}, ["body", "params"]),
    ],
)
def test_bad_bodies_are_422_before_anything_is_queued(env: Env, body: dict[str, Any], loc: list[str]) -> None:
    answer = env.editor.post("/api/v1/jobs", json=body)
    assert answer.status_code == 422, answer.text
    assert any(error["loc"][: len(loc)] == loc for error in answer.json()["detail"]), answer.json()
    assert env.editor.get("/api/v1/jobs").json()["total"] == 0


def test_service_level_errors_are_422_or_404_before_queueing(env: Env) -> None:
    unknown = env.editor.post("/api/v1/jobs", json={"kind": "simulation", "params": {"scenario_id": 999_999}})
    assert unknown.status_code == 404
    report = env.editor.post("/api/v1/jobs", json={"kind": "report", "params": {"run_id": 999_999}})
    assert report.status_code == 404
    bad_format = env.editor.post(
        "/api/v1/jobs", json={"kind": "report", "params": {"run_id": 1, "format": "docx"}}
    )
    assert bad_format.status_code == 422 and "format" in bad_format.text
    assert env.editor.get("/api/v1/jobs").json()["total"] == 0


def test_roles_owners_and_the_per_user_cap(env: Env) -> None:
    assert env.anonymous.post("/api/v1/jobs", json=simulation(1_000)).status_code == 401
    assert env.anonymous.get("/api/v1/jobs").status_code == 401
    assert env.viewer.post("/api/v1/jobs", json=simulation(1_000)).status_code == 403  # storing a run: editor
    viewer_job = env.viewer.post(
        "/api/v1/jobs", json={"kind": "tornado", "params": {"inputs": CHINA, "tornado": {"paths_count": 100}}}
    )
    assert viewer_job.status_code == 202
    ids = [env.editor.post("/api/v1/jobs", json=simulation(1_000)).json()["id"] for _ in range(3)]
    capped = env.editor.post("/api/v1/jobs", json=simulation(1_000))
    assert capped.status_code == 429 and capped.headers.get("retry-after") and "limit is 3" in capped.text
    # each sees their own; the admin sees everyone's; someone else's job is a 404
    assert [j["id"] for j in env.editor.get("/api/v1/jobs").json()["items"]] == ids[::-1]
    assert env.viewer.get(f"/api/v1/jobs/{ids[0]}").status_code == 404
    assert env.viewer.post(f"/api/v1/jobs/{ids[0]}/cancel").status_code == 404
    assert env.admin.get("/api/v1/jobs").json()["total"] == 4
    assert env.admin.post(f"/api/v1/jobs/{ids[0]}/cancel").json()["error"] == "cancelled by job-admin"
    # a cancelled job no longer counts against the cap
    assert env.editor.post("/api/v1/jobs", json=simulation(1_000)).status_code == 202
    assert env.editor.get("/api/v1/jobs?status=cancelled").json()["total"] == 1


def test_a_report_job_renders_the_board_pack_of_a_stored_run(env: Env) -> None:
    """HTML here; the PDF is the same pack through WeasyPrint (slow): tests/web/test_board_pack.py."""
    fmt = "html"
    stored = env.editor.post("/api/v1/simulations", json={"inputs": CHINA, "paths_count": 300})
    assert stored.status_code == 201, stored.text
    run_id = stored.json()["id"]
    job = env.viewer.post(
        "/api/v1/jobs", json={"kind": "report", "params": {"run_id": run_id, "format": fmt}}
    )
    assert job.status_code == 202, job.text
    assert env.viewer.get(f"/api/v1/jobs/{job.json()['id']}/output").status_code == 404  # not finished yet
    with serve_embedded(env.runtime):
        final = env.wait(env.viewer, job.json()["id"], timeout_s=180)[-1]
    assert final["status"] == "succeeded", final
    assert final["result"]["run_id"] == run_id and final["result"]["size_bytes"] > 1000
    document = env.viewer.get(final["result"]["download"])
    assert document.status_code == 200
    assert f"run-{run_id}-board-pack.{fmt}" in document.headers["content-disposition"]
    assert document.headers["content-type"].startswith("text/html") and b"<html" in document.content[:500]
    assert env.editor.get(final["result"]["download"]).status_code == 404  # someone else's job


QUOTES_HEADER = (
    "provider,instance_type,region,accelerator_name,accelerator_count,pricing_model,usd_per_hour,"
    "effective_from\n"
)


def test_import_jobs_dry_run_then_commit_all_or_nothing(env: Env) -> None:
    good = QUOTES_HEADER + "jobcloud,h100x8,eu,H100-SXM,8,on_demand,16.0,2026-01-01\n"
    bad = good + "jobcloud,h100x2,eu,NoSuchGPU,2,on_demand,4,2026-01-01\n"
    with serve_embedded(env.runtime):
        dry = env.editor.post(
            "/api/v1/jobs", json={"kind": "import", "params": {"csv": good, "dry_run": True}}
        )
        result = env.wait(env.editor, dry.json()["id"])[-1]
        assert result["status"] == "succeeded" and result["result"]["added"] == 1
        assert result["result"]["committed"] is False
        refused = env.editor.post(
            "/api/v1/jobs", json={"kind": "import", "params": {"csv": bad, "dry_run": False}}
        )
        failed = env.wait(env.editor, refused.json()["id"])[-1]
        assert failed["status"] == "failed" and "1 invalid row(s): nothing was imported" in failed["error"]
        assert any("NoSuchGPU" in (row.get("reason") or "") for row in failed["result"]["rows"])
        listed = env.editor.get("/api/v1/price-quotes", params={"provider": "jobcloud"}).json()
        assert listed["total"] == 0  # nothing half-written
        done = env.editor.post(
            "/api/v1/jobs", json={"kind": "import", "params": {"csv": good, "dry_run": False}}
        )
        assert env.wait(env.editor, done.json()["id"])[-1]["result"]["committed"] is True
    assert env.editor.get("/api/v1/price-quotes", params={"provider": "jobcloud"}).json()["total"] == 1
    assert (
        env.viewer.post("/api/v1/jobs", json={"kind": "import", "params": {"csv": good}}).status_code == 403
    )


def test_a_sweep_job_returns_the_sweep(env: Env) -> None:
    models = env.viewer.get("/api/v1/models", params={"limit": 200}).json()["items"]
    model_id = next(m["id"] for m in models if m["name"] == "Llama 2 7B")
    body = {"kind": "training", "model_id": model_id, "gpu_counts": [64, 256], "mfu": 0.4, "limit": 3}
    job = env.viewer.post("/api/v1/jobs", json={"kind": "sweep", "params": body})
    assert job.status_code == 202, job.text
    with serve_embedded(env.runtime):
        final = env.wait(env.viewer, job.json()["id"])[-1]
    assert final["status"] == "succeeded", final
    direct = env.viewer.post("/api/v1/estimates/sweep", json=body).json()
    assert final["result"]["cheapest"] == direct["cheapest"]


def test_the_strategy_lab_queues_its_16_strategies_through_the_price_war(env: Env) -> None:
    models = env.viewer.get("/api/v1/models", params={"limit": 200}).json()["items"]
    form = {"model": models[0]["name"], "accelerator": "H100-SXM", "price": "2.5"}
    answer = env.editor.post("/strategy/job", data=form, headers={"Accept": "application/json"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["kind"] == "simulation" and job["title"].startswith("Simulation: Strategy lab:")
    assert "100,000 paths" in job["title"]
    with env.factory() as session:
        params = session.get(Job, job["id"]).params  # type: ignore[union-attr]
    assert params["paths_count"] == 100_000 and params["price_usd_per_gpu_hour"] == 2.5
    assert params["model_id"] == models[0]["id"] and params["scenario_id"]
    missing = env.editor.post("/strategy/job", data={"model": "nope", "accelerator": "H100-SXM"})
    assert missing.status_code == 422
    assert env.viewer.post("/strategy/job", data=form).status_code == 403
