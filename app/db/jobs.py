"""Background jobs: the user-facing record of a long run (the queue engine only carries "run job N").

`jobs` holds what the API shows (status, progress, timestamps, a readable error, the stored run) and what
the workers need to recover (attempts, heartbeat, the resolved inputs). A Monte Carlo run is split into
`job_chunks` that any worker may compute; each chunk's packed result waits there until the last chunk's
worker merges them and stores the run in the same transaction that marks the job succeeded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utc_now

JOB_KINDS = ("simulation", "tornado", "sweep", "import", "report")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
CHUNK_STATUSES = ("pending", "running", "done")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"kind IN {JOB_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status"),
        CheckConstraint("progress_fraction >= 0 AND progress_fraction <= 1", name="progress"),
        Index("ix_jobs_owner_status", "owner_id", "status"),
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_name: Mapped[str] = mapped_column(String(120), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The inputs resolved when the job started (a simulation's preset document with its strategies), so every
    # chunk computes on the same scenario even if the stored rows change meanwhile.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(120))
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("simulation_runs.id", ondelete="SET NULL"))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobChunk(Base):
    __tablename__ = "job_chunks"
    __table_args__ = (CheckConstraint(f"status IN {CHUNK_STATUSES!r}", name="status"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_path: Mapped[int] = mapped_column(Integer)
    paths_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
