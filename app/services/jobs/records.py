"""The `jobs` table as the API sees it: submit (with the per-user cap), read, list, cancel.

Flushes, never commits (the request does); the caller enqueues the job once the row is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.base import utc_now
from app.db.jobs import Job, JobChunk
from app.services.errors import ConflictError, NotFoundError
from app.services.rate_limits import RateLimited

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Owner:
    """Who submits or reads jobs: a user (admins see everyone's)."""

    user_id: int
    name: str
    is_admin: bool = False


def submit(session: Session, owner: Owner, kind: str, params: dict[str, Any], max_active: int) -> Job:
    """A queued job for `owner`; 429 (RateLimited) when they already have `max_active` queued or running."""
    active = session.scalar(
        select(func.count()).select_from(Job).where(Job.owner_id == owner.user_id, Job.status.in_(ACTIVE))
    )
    if (active or 0) >= max_active:
        raise RateLimited(
            10,
            f"you have {active} jobs queued or running (the limit is {max_active}); "
            "wait for one to finish or cancel one",
        )
    job = Job(
        kind=kind,
        status="queued",
        owner_id=owner.user_id,
        owner_name=owner.name,
        params=params,
        progress_fraction=0.0,
        created_at=utc_now(),
        attempts=0,
        cancel_requested=False,
        chunks_total=0,
        chunks_done=0,
    )
    session.add(job)
    session.flush()
    return job


def _visible(session: Session, job_id: int, owner: Owner) -> Job:
    job = session.get(Job, job_id)
    if job is None or (not owner.is_admin and job.owner_id != owner.user_id):
        raise NotFoundError(f"job {job_id} does not exist", field="job_id")
    return job


def get(session: Session, job_id: int, owner: Owner) -> dict[str, Any]:
    return view(_visible(session, job_id, owner), with_result=True)


def list_jobs(
    session: Session, owner: Owner, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    query = select(Job)
    if not owner.is_admin:
        query = query.where(Job.owner_id == owner.user_id)
    if status is not None:
        query = query.where(Job.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [view(j) for j in rows]}


def cancel(session: Session, job_id: int, owner: Owner) -> dict[str, Any]:
    """Queued or running → cancelled at once; the worker stops at its next checkpoint (within seconds) and
    throws its partial work away. A finished job is a 409."""
    job = _visible(session, job_id, owner)
    now = utc_now()
    done = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE))
        .values(
            status="cancelled",
            cancel_requested=True,
            finished_at=now,
            error=f"cancelled by {owner.name}",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done:  # chunks still waiting or running are let go: a worker's late result finds nothing to fill
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job.id, JobChunk.status != "done")
            .values(status="pending", worker=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job.id)
            .values(data=None)
            .execution_options(synchronize_session=False)
        )
    session.refresh(job)
    if not done:
        raise ConflictError(f"job {job_id} has already {job.status}", field="job_id")
    return view(job, with_result=True)


def output(session: Session, job_id: int, owner: Owner) -> tuple[bytes, str, str]:
    """A finished report job's document: (bytes, media type, file name)."""
    job = _visible(session, job_id, owner)
    if job.kind != "report" or job.status != "succeeded" or not isinstance(job.result, dict):
        raise NotFoundError(f"job {job_id} has no document (a report job has one once it has succeeded)")
    data = session.scalar(select(JobChunk.data).where(JobChunk.job_id == job.id, JobChunk.chunk_index == 0))
    if data is None:
        raise NotFoundError(f"job {job_id}'s document is no longer stored")
    return data, str(job.result["media_type"]), str(job.result["filename"])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(job: Job, with_result: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress_fraction": round(float(job.progress_fraction), 4),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error": job.error,
        "run_id": job.run_id,
        "owner": job.owner_name,
        "attempts": job.attempts,
        "chunks_total": job.chunks_total,
        "chunks_done": job.chunks_done,
        "title": title(job),
    }
    if with_result:
        out["result"] = job.result
    return out


def title(job: Job) -> str:
    params = job.params if isinstance(job.params, dict) else {}
    if job.kind == "simulation":
        paths = params.get("paths_count")
        name = params.get("name") or (
            f"scenario {params['scenario_id']}" if params.get("scenario_id") else "inline scenario"
        )
        return f"Simulation: {name}" + (f", {paths:,} paths" if isinstance(paths, int) else "")
    if job.kind == "tornado":
        return "Tornado" + (f": scenario {params['scenario_id']}" if params.get("scenario_id") else "")
    if job.kind == "sweep":
        return f"Sweep: {params.get('kind', '')}"
    if job.kind == "report":
        return f"Board pack of run {params.get('run_id')} ({str(params.get('format', 'pdf')).upper()})"
    if job.kind == "import":
        return "Price-quote import" + (" (dry run)" if params.get("dry_run", True) else "")
    return job.kind.title()
