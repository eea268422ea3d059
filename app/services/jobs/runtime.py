"""Running jobs: the queue's tasks, the heartbeat, cancellation and the recovery of stalled work.

Every state change is one short transaction on the `jobs` / `job_chunks` rows, guarded by the status it
expects (`UPDATE ... WHERE status = 'queued'` to claim, `... WHERE status = 'running'` to finish), so a
duplicated queue message, two workers or a cancel racing a finish can never run a job twice or store half a
result. Compute happens outside any transaction (inputs are read first, results written after).

A simulation job is planned into chunks of paths (app/engine/market/chunked.py); every chunk is its own
queue message, so any number of workers share one run. The worker that completes the last chunk merges
them and stores the run and the job's success in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from huey import Huey
from huey.consumer import Consumer
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings
from app.db.base import utc_now
from app.db.jobs import Job, JobChunk
from app.db.models import SimulationRun
from app.engine.market import preset_from_dict
from app.engine.market.chunked import Chunk, merge, pack, plan_chunks, run_chunk, unpack
from app.engine.market.errors import ScenarioError
from app.services import alert_webhook, audit, crud, estimates, quote_import, simulations
from app.services.errors import ServiceError, ValidationFailed
from app.services.jobs.queue import build_huey
from app.services.jobs.sessions import read_sessionmaker

log = logging.getLogger("pricewar.jobs")

# Share of the progress bar the chunks fill; the merge and the store take the rest.
CHUNKS_SHARE = 0.95


class JobCancelled(Exception):
    """Raised inside a job's compute when the job was cancelled (or taken over after a stall)."""


class _Abort(Exception):
    """Roll the transaction back: the job is no longer ours to finish."""


@dataclass
class _Item:
    job_id: int
    chunk: int | None
    progress: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)


class JobRuntime:
    """The queue, the task functions and the worker machinery for one database."""

    def __init__(
        self,
        database_url: str,
        write: sessionmaker[Session],
        read: sessionmaker[Session] | None = None,
        settings: Settings | None = None,
        huey: Huey | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.database_url = database_url
        self.write = write
        self.read = read or read_sessionmaker(database_url, write)
        self.huey = huey or build_huey(database_url)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._items: dict[int, _Item] = {}
        self._items_lock = threading.Lock()
        self._next_item = 0
        self._task_start = self.huey.task(name="start_job")(self.start_job)
        self._task_chunk = self.huey.task(name="run_chunk")(self.run_chunk)
        self._task_finish = self.huey.task(name="finish_job")(self.finish_job)
        self._task_alerts = alert_webhook.register(self.huey, self.write, self.settings)
        alert_webhook.install()  # this process's commits of market prices or scenarios queue the webhook
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._last_reap = 0.0

    # --- enqueueing --------------------------------------------------------------------------------------

    def enqueue(self, job_id: int) -> None:
        self._task_start(job_id)

    def enqueue_alert_delivery(self) -> None:
        """The price-floor webhook (app/services/alert_webhook.py): a system task, not a user's job."""
        self._task_alerts()

    # --- state changes -----------------------------------------------------------------------------------

    def _fail(self, job_id: int, message: str, result: dict[str, Any] | None = None) -> None:
        with self.write.begin() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(status="failed", error=message[:2000], finished_at=utc_now(), result=result)
            )
            s.execute(update(JobChunk).where(JobChunk.job_id == job_id).values(data=None))

    def _succeed(self, s: Session, job_id: int, **values: Any) -> None:
        done = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(status="succeeded", progress_fraction=1.0, finished_at=utc_now(), error=None, **values)
        ).rowcount
        if not done:
            raise _Abort

    def _guard(self, job_id: int, work: Callable[[], None]) -> None:
        """Run a step; a readable failure on error (never a traceback), nothing on cancel."""
        try:
            work()
        except (JobCancelled, _Abort):
            return
        except ServiceError as exc:
            where = f"{exc.field}: " if exc.field and not exc.message.startswith(exc.field) else ""
            self._fail(job_id, f"{where}{exc.message}")
        except ScenarioError as exc:
            self._fail(job_id, f"{exc.field}: {exc.reason}")
        except MemoryError:
            self._fail(
                job_id, "the run needs more memory than this worker has; use fewer paths or strategies"
            )
        except Exception as exc:  # noqa: BLE001 - logged with its traceback; the user sees a sentence
            log.exception("job %s failed", job_id)
            self._fail(
                job_id, f"the job stopped on an unexpected error ({type(exc).__name__}); see the worker log"
            )

    # --- tasks (run by a worker) -------------------------------------------------------------------------

    def start_job(self, job_id: int) -> None:
        now = utc_now()
        with self.write.begin() as s:
            claimed = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running",
                    started_at=now,
                    heartbeat_at=now,
                    attempts=Job.attempts + 1,
                    worker=self.name,
                )
            ).rowcount
            if not claimed:
                return
            job = s.get(Job, job_id)
            assert job is not None
            kind, params = job.kind, dict(job.params)
            owner = (job.owner_name, job.owner_id)
        log.info("job %s (%s) started on %s", job_id, kind, self.name)
        if kind == "simulation":
            self._guard(job_id, lambda: self._plan_simulation(job_id, params))
        elif kind in ("tornado", "sweep", "import"):
            self._guard(job_id, lambda: self._run_whole(job_id, kind, params, owner))
        elif kind == "report":
            self._guard(job_id, lambda: self._run_report(job_id, params))
        else:
            self._fail(job_id, f"{kind} jobs are not available in this version")

    def _run_report(self, job_id: int, params: dict[str, Any]) -> None:
        """The board pack (services.reports, as GET /runs/{id}/report.pdf); the document is kept as the
        job's single output part and served by GET /api/v1/jobs/{id}/output."""
        from app.services import reports

        run_id, fmt = int(params["run_id"]), params.get("format", "pdf")
        currency, strategy = params.get("currency", "USD"), params.get("strategy")
        with self.track(job_id, None) as item, self.read() as s:
            if fmt == "html":
                data = reports.render_run_report_html(s, run_id, currency, strategy).encode("utf-8")
                media_type = "text/html; charset=utf-8"
            else:
                data = reports.render_run_report_pdf(s, run_id, currency, strategy)
                media_type = "application/pdf"
            s.rollback()
            if item.cancelled.is_set():
                return
        with self.write.begin() as s:
            self._succeed(
                s,
                job_id,
                result={
                    "run_id": run_id,
                    "format": fmt,
                    "media_type": media_type,
                    "size_bytes": len(data),
                    "filename": f"run-{run_id}-board-pack.{fmt}",
                    "download": f"/api/v1/jobs/{job_id}/output",
                },
            )
            s.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
            s.add(
                JobChunk(
                    job_id=job_id,
                    chunk_index=0,
                    first_path=0,
                    paths_count=0,
                    status="done",
                    attempts=1,
                    data=data,
                )
            )

    def _plan_simulation(self, job_id: int, params: dict[str, Any]) -> None:
        with self.track(job_id, None), self.read() as s:
            resolved = simulations.resolve(s, params)
            s.rollback()
        scenario = resolved.preset.scenario
        paths = scenario.paths_count
        chunk_paths = self.settings.jobs_chunk_paths
        per_path = scenario.horizon_months * len(resolved.strategies) * (1 + len(scenario.rivals))
        if min(paths, chunk_paths) * per_path > simulations.MAX_WORK_UNITS:
            raise ValidationFailed(
                f"one chunk of {min(paths, chunk_paths)} paths x {scenario.horizon_months} months x "
                f"{len(resolved.strategies)} strategies x {1 + len(scenario.rivals)} firms is too much work; "
                "use fewer strategies or a shorter horizon",
                field="strategies",
            )
        plan = {
            "inputs": simulations.inputs_snapshot(resolved, paths),
            "scenario_id": resolved.scenario_id,
            "name": (params.get("name") or resolved.preset.name)[:160],
            "strategies_source": resolved.strategies_source,
            "notes": list(resolved.notes),
            "seed": scenario.seed,
            "paths_count": paths,
            "chunk_paths": chunk_paths,
            "tornado": params.get("tornado"),
        }
        chunks = plan_chunks(paths, chunk_paths)
        with self.write.begin() as s:
            planned = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(plan=plan, chunks_total=len(chunks), chunks_done=0, heartbeat_at=utc_now())
            ).rowcount
            if not planned:
                return
            s.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
            s.add_all(
                JobChunk(
                    job_id=job_id,
                    chunk_index=c.index,
                    first_path=c.first_path,
                    paths_count=c.paths_count,
                    status="pending",
                    attempts=0,
                )
                for c in chunks
            )
        for c in chunks:
            self._task_chunk(job_id, c.index)

    def run_chunk(self, job_id: int, index: int) -> None:
        with self.write.begin() as s:
            if s.scalar(select(Job.status).where(Job.id == job_id)) != "running":
                return
            claimed = s.execute(
                update(JobChunk)
                .where(JobChunk.job_id == job_id, JobChunk.chunk_index == index, JobChunk.status == "pending")
                .values(
                    status="running", attempts=JobChunk.attempts + 1, worker=self.name, heartbeat_at=utc_now()
                )
            ).rowcount
            if not claimed:
                return
            row = s.get(JobChunk, (job_id, index))
            plan = s.scalar(select(Job.plan).where(Job.id == job_id))
            assert row is not None and plan is not None
            chunk, attempt = Chunk(index, row.first_path, row.paths_count), row.attempts
        self._guard(job_id, lambda: self._compute_chunk(job_id, chunk, attempt, plan))

    def _compute_chunk(self, job_id: int, chunk: Chunk, attempt: int, plan: dict[str, Any]) -> None:
        with self.track(job_id, chunk.index) as item:
            preset = preset_from_dict(plan["inputs"])
            with np.errstate(all="ignore"):
                result = run_chunk(preset.scenario, preset.strategies, int(plan["seed"]), chunk)
            if item.cancelled.is_set():
                return
            data = pack(result)
        with self.write.begin() as s:
            # Lock order everywhere: the job's row, then its chunks (the heartbeat and cancel do the same).
            owned = s.execute(
                update(Job).where(Job.id == job_id, Job.status == "running").values(heartbeat_at=utc_now())
            ).rowcount
            if not owned:
                raise _Abort
            stored = s.execute(
                update(JobChunk)
                .where(
                    JobChunk.job_id == job_id,
                    JobChunk.chunk_index == chunk.index,
                    JobChunk.status == "running",
                    JobChunk.worker == self.name,
                    JobChunk.attempts == attempt,
                )
                .values(status="done", data=data, heartbeat_at=utc_now())
            ).rowcount
            if not stored:
                raise _Abort  # taken over after a stall, or cancelled: someone else's now
            counted = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(chunks_done=Job.chunks_done + 1, heartbeat_at=utc_now())
                .returning(Job.chunks_done, Job.chunks_total)
            ).first()
            if counted is None:
                raise _Abort
            done, total = counted
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(progress_fraction=min(CHUNKS_SHARE * done / total, CHUNKS_SHARE))
            )
        if done == total:
            self.finish_job(job_id)

    def finish_job(self, job_id: int) -> None:
        """Merge the chunks and store the run (the last chunk's worker, or recovery after a stall)."""
        self._guard(job_id, lambda: self._finish(job_id))

    def _finish(self, job_id: int) -> None:
        with self.track(job_id, None), self.read() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != "running" or job.chunks_done < job.chunks_total:
                return
            plan, owner = dict(job.plan or {}), (job.owner_name, job.owner_id)
            blobs = s.scalars(
                select(JobChunk.data).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_index)
            ).all()
            s.rollback()
            if any(b is None for b in blobs):
                return
            preset = preset_from_dict(plan["inputs"])
            with np.errstate(all="ignore"):
                merged = merge(
                    preset.scenario, preset.strategies, [unpack(b) for b in blobs if b is not None]
                )
            results = merged.to_dict()
            summary = [
                {k: v for k, v in x.items() if not isinstance(v, dict | list)} for x in results["strategies"]
            ]
            if not simulations.all_finite(summary):
                raise ValidationFailed(
                    "these inputs overflow the simulation: check the magnitudes", field="inputs"
                )
            if plan.get("tornado"):
                resolved = simulations.Resolved(
                    preset,
                    preset.strategies,
                    plan["strategies_source"],
                    tuple(plan["notes"]),
                    plan["scenario_id"],
                )
                results["tornado"] = simulations.run_tornado(resolved, plan["tornado"])
        with self.write.begin() as s:
            audit.set_actor(s, f"{owner[0]} (job {job_id})", owner[1])
            run = crud.create_row(  # audited below without the results (they are the run itself)
                s,
                SimulationRun,
                {
                    "scenario_id": plan["scenario_id"],
                    "name": plan["name"],
                    "inputs": plan["inputs"],
                    "seed": plan["seed"],
                    "path_count": plan["paths_count"],
                    "horizon_months": preset.scenario.horizon_months,
                    "engine_version": simulations.ENGINE_VERSION,
                    "results": results,
                },
                record=False,
            )
            audit.record(
                s,
                "create",
                "simulation_runs",
                run.id,
                f"created {audit.label_of(run)} (background job {job_id})",
                after={
                    "id": run.id,
                    "name": run.name,
                    "seed": run.seed,
                    "path_count": run.path_count,
                    "horizon_months": run.horizon_months,
                    "job_id": job_id,
                },
            )
            self._succeed(s, job_id, run_id=run.id)
            s.execute(update(JobChunk).where(JobChunk.job_id == job_id).values(data=None))
        log.info("job %s stored run %s", job_id, run.id)

    def _run_whole(
        self, job_id: int, kind: str, params: dict[str, Any], owner: tuple[str, int | None]
    ) -> None:
        """A tornado, a sweep or an import: one task, progress from the engine where it reports any."""
        with self.track(job_id, None) as item:

            def progress(done: int, total: int) -> None:
                item.progress = min(0.99 * done / max(total, 1), 0.99)
                if item.cancelled.is_set():
                    raise JobCancelled

            if kind == "import" and not params.get("dry_run", True):
                try:
                    with self.write.begin() as s:  # the import and the job's success commit together
                        audit.set_actor(s, f"{owner[0]} (job {job_id})", owner[1])
                        report = quote_import.import_quotes(s, params["csv"], dry_run=False)
                        self._succeed(s, job_id, result=report.model_dump(mode="json"))
                except quote_import.ImportRefused as refused:  # which rows and why, as the API's 422 says
                    self._fail(job_id, refused.message, refused.report.model_dump(mode="json"))
                return
            with self.read() as s:
                if kind == "tornado":
                    resolved = simulations.resolve(s, params)
                    s.rollback()  # nothing held while the tornado runs
                    result = simulations.run_tornado(resolved, params.get("tornado") or {}, progress)
                elif kind == "sweep":
                    result = estimates.sweep(s, params)
                else:
                    result = quote_import.import_quotes(s, params["csv"], dry_run=True).model_dump(
                        mode="json"
                    )
                s.rollback()
            if item.cancelled.is_set():
                return
        with self.write.begin() as s:
            self._succeed(s, job_id, result=result)

    # --- heartbeat, cancel and recovery --------------------------------------------------------------------

    @contextlib.contextmanager
    def track(self, job_id: int, chunk: int | None) -> Iterator[_Item]:
        """While the block runs, the supervisor beats for this job (and chunk) and flags a cancel."""
        item = _Item(job_id, chunk)
        with self._items_lock:
            key = self._next_item
            self._next_item += 1
            self._items[key] = item
        try:
            yield item
        finally:
            with self._items_lock:
                self._items.pop(key, None)

    def beat(self) -> None:
        """One heartbeat: stamp what this process runs, store progress, flag cancelled jobs."""
        with self._items_lock:
            items = list(self._items.values())
        if not items:
            return
        now = utc_now()
        job_ids = {i.job_id for i in items}
        with self.write.begin() as s:
            statuses = dict(s.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).tuples().all())
            running = [j for j in job_ids if statuses.get(j) == "running"]
            for item in items:
                if statuses.get(item.job_id) != "running":
                    item.cancelled.set()
            if running:
                s.execute(update(Job).where(Job.id.in_(running)).values(heartbeat_at=now))
            for item in items:
                if item.progress is not None and item.job_id in running:
                    s.execute(
                        update(Job).where(Job.id == item.job_id).values(progress_fraction=item.progress)
                    )
                if item.chunk is not None:
                    s.execute(
                        update(JobChunk)
                        .where(
                            JobChunk.job_id == item.job_id,
                            JobChunk.chunk_index == item.chunk,
                            JobChunk.worker == self.name,
                            JobChunk.status == "running",
                        )
                        .values(heartbeat_at=now)
                    )

    def reap(self) -> None:
        """Work whose worker went silent: retry it, or fail the job with the reason after the last try.
        Jobs and chunks whose queue message was lost (an emptied queue) are enqueued again."""
        now = utc_now()
        cutoff = now - timedelta(seconds=self.settings.jobs_stale_after_seconds)
        max_attempts = self.settings.jobs_max_attempts
        starts: list[int] = []
        chunks: list[tuple[int, int]] = []
        finishes: list[int] = []
        fails: list[tuple[int, str]] = []
        with self.write.begin() as s:
            stale_chunks = s.execute(
                select(JobChunk.job_id, JobChunk.chunk_index, JobChunk.attempts, Job.chunks_total)
                .join(Job, Job.id == JobChunk.job_id)
                .where(JobChunk.status == "running", JobChunk.heartbeat_at < cutoff, Job.status == "running")
            ).all()
            for job_id, index, attempts, total in stale_chunks:
                if attempts >= max_attempts:
                    fails.append(
                        (
                            job_id,
                            f"chunk {index + 1} of {total} was interrupted {attempts} times: the worker "
                            "running it stopped (killed, out of memory, or cut off from the database)",
                        )
                    )
                    continue
                reset = s.execute(
                    update(JobChunk)
                    .where(
                        JobChunk.job_id == job_id,
                        JobChunk.chunk_index == index,
                        JobChunk.status == "running",
                        JobChunk.heartbeat_at < cutoff,
                    )
                    .values(status="pending", worker=None)
                ).rowcount
                if reset:
                    log.warning("job %s chunk %s: worker silent, retrying", job_id, index)
                    chunks.append((job_id, index))
        with self.write.begin() as s:
            stale_jobs = s.execute(
                select(Job.id, Job.attempts, Job.chunks_total, Job.chunks_done).where(
                    Job.status == "running", Job.heartbeat_at < cutoff
                )
            ).all()
            for job_id, attempts, total, done in stale_jobs:
                if total and done >= total:
                    s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=now))
                    finishes.append(job_id)
                elif not total:
                    if attempts >= max_attempts:
                        fails.append(
                            (
                                job_id,
                                f"the worker running it stopped responding, {attempts} times (killed, out of "
                                "memory, or cut off from the database)",
                            )
                        )
                        continue
                    requeued = s.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.status == "running", Job.heartbeat_at < cutoff)
                        .values(status="queued", worker=None)
                    ).rowcount
                    if requeued:
                        log.warning("job %s: worker silent, queued again", job_id)
                        starts.append(job_id)
        for job_id, message in fails:
            self._fail(job_id, message)
        if self.huey.pending_count() == 0:  # nothing waiting: anything still queued lost its message
            settle = now - timedelta(seconds=5)
            with self.read() as s:
                starts += s.scalars(
                    select(Job.id).where(Job.status == "queued", Job.created_at < settle)
                ).all()
                chunks += (
                    s.execute(
                        select(JobChunk.job_id, JobChunk.chunk_index)
                        .join(Job, Job.id == JobChunk.job_id)
                        .where(
                            JobChunk.status == "pending", Job.status == "running", Job.heartbeat_at < cutoff
                        )
                    )
                    .tuples()
                    .all()
                )
                s.rollback()
        for job_id in dict.fromkeys(starts):
            self._task_start(job_id)
        for job_id, index in dict.fromkeys(chunks):
            self._task_chunk(job_id, index)
        for job_id in finishes:
            self._task_finish(job_id)

    def _supervise(self) -> None:
        every = self.settings.jobs_heartbeat_seconds
        reap_every = max(every, self.settings.jobs_stale_after_seconds / 4)
        while not self._stop.wait(every):
            try:
                self.beat()
                if time.monotonic() - self._last_reap >= reap_every:
                    self._last_reap = time.monotonic()
                    self.reap()
            except Exception:  # noqa: BLE001 - a database blip must not stop the heartbeat for good
                log.exception("job supervisor: heartbeat or recovery failed; trying again")

    def start_supervisor(self) -> None:
        if self._supervisor is None:
            self._stop.clear()
            self._last_reap = time.monotonic() - 3600  # recover at once on start
            self._supervisor = threading.Thread(target=self._supervise, name="pricewar-jobs", daemon=True)
            self._supervisor.start()

    def stop_supervisor(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
            self._supervisor = None

    def consumer(self, workers: int = 1) -> Consumer:
        return _QuietConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.3,
            max_delay=0.5,
            check_worker_health=True,
            shutdown_timeout=10,
        )


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """A consumer that leaves signal handling to its host (uvicorn in `pricewar serve`, or none in tests);
    `pricewar worker` uses the plain Consumer, which stops gracefully on SIGINT."""

    def _set_signal_handlers(self) -> None:
        return None


def count_active(session: Session) -> int:
    return (
        session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running"))))
        or 0
    )
