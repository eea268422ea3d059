"""Rate limits kept in the database, so every app process counts the same attempts.

A limit is "at most N events of a kind per subject (a username or an address) within a sliding window".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.db.access import AuthAttempt
from app.db.base import utc_now


class RateLimited(Exception):
    """Too many attempts: retry after `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int, message: str) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.message = message


def retry_after(
    session: Session,
    kind: str,
    limits: Sequence[tuple[str, int]],
    window_seconds: int,
    now: datetime | None = None,
) -> int | None:
    """Seconds until the busiest subject is under its limit again, or None when all are under."""
    now = now or utc_now()
    since = now - timedelta(seconds=window_seconds)
    waits: list[int] = []
    for subject, limit in limits:
        times = session.scalars(
            select(AuthAttempt.at)
            .where(AuthAttempt.kind == kind, AuthAttempt.subject == subject, AuthAttempt.at > since)
            .order_by(AuthAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            # The limit-th newest attempt leaves the window first among those that keep us at the limit.
            waits.append(
                max(1, math.ceil((times[-1] + timedelta(seconds=window_seconds) - now).total_seconds()))
            )
    return max(waits) if waits else None


def check(
    session: Session, kind: str, limits: Sequence[tuple[str, int]], window_seconds: int, what: str
) -> None:
    wait = retry_after(session, kind, limits, window_seconds)
    if wait is not None:
        raise RateLimited(wait, f"too many {what}; try again in {wait} s")


def note(session: Session, kind: str, subjects: Sequence[str], window_seconds: int) -> None:
    """Count one event for each subject, and forget events older than `window_seconds` (pass the longest
    memory any limit of this kind needs)."""
    now = utc_now()
    session.execute(
        delete(AuthAttempt).where(
            AuthAttempt.kind == kind, AuthAttempt.at < now - timedelta(seconds=window_seconds)
        )
    )
    session.add_all(AuthAttempt(kind=kind, subject=subject[:200], at=now) for subject in subjects)
    session.flush()


def forget(session: Session, kind: str, subject: str) -> None:
    session.execute(delete(AuthAttempt).where(AuthAttempt.kind == kind, AuthAttempt.subject == subject))


def count(session: Session, kind: str, subject: str) -> int:
    return int(
        session.scalar(select(func.count()).where(AuthAttempt.kind == kind, AuthAttempt.subject == subject))
        or 0
    )


def backoff_wait(
    session: Session,
    kind: str,
    subject: str,
    *,
    free: int,
    base_seconds: int,
    cap_seconds: int,
    memory_seconds: int,
    now: datetime | None = None,
) -> int | None:
    """Growing back-off instead of a fixed lock: after `free` events of `subject` within `memory_seconds`,
    the next try must wait base x 2^(events - free) seconds (at most `cap_seconds`) after the latest event.

    Seconds left to wait, or None when a try is allowed now."""
    now = now or utc_now()
    times = session.scalars(
        select(AuthAttempt.at)
        .where(
            AuthAttempt.kind == kind,
            AuthAttempt.subject == subject,
            AuthAttempt.at > now - timedelta(seconds=memory_seconds),
        )
        .order_by(AuthAttempt.at.desc())
        .limit(free + 32)
    ).all()
    if len(times) < free:
        return None
    delay = min(cap_seconds, base_seconds * 2 ** min(len(times) - free, 30))
    wait = math.ceil((times[0] + timedelta(seconds=delay) - now).total_seconds())
    return wait if wait > 0 else None


def forget_prefix(session: Session, kind: str, prefix: str) -> int:
    """Forget every event of `kind` whose subject starts with `prefix` (an admin clearing a back-off)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = session.execute(
        delete(AuthAttempt).where(
            AuthAttempt.kind == kind, AuthAttempt.subject.like(escaped + "%", escape="\\")
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
