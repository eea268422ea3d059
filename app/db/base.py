"""Declarative base: constraint naming convention, ids, UTC timestamps and a version column."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, MetaData, func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text: we add UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampedVersioned:
    """Mixin: integer id, created/updated timestamps (UTC, tz-aware) and an optimistic-lock version.

    The cache invariant. Each worker process caches deterministic page computations
    (app/web/pages/page_cache.py), keyed by a *stamp* of the tables they read, and serves a cached value
    while the stamp is unchanged. So every write must change the stamp:
    - tables in app/db/stats.py TRACKED_TABLES (all the page caches read today) stamp with `table_stats`
      (row count, revision), changed by database triggers on every INSERT, UPDATE, DELETE (migration 0006):
      ORM flushes, bulk `session.execute(update(...))`, imports and raw SQL alike;
    - any other table stamps with (row count, sum of `version`, latest `updated_at`). `version` is bumped by
      the ORM unit of work only: a bulk UPDATE is allowed and leaves it alone, and is seen through
      `updated_at`, which a Core UPDATE sets by its `onupdate` (unless the statement sets `updated_at`).
    A new cached page over another table: add the table to TRACKED_TABLES (and its triggers), or write to it
    only through the ORM. tests/services/test_cache_invariant.py checks both paths on both backends.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utc_now, server_default=func.current_timestamp()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utc_now, onupdate=utc_now, server_default=func.current_timestamp()
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, object]:  # noqa: N805 - SQLAlchemy declared_attr signature
        return {"version_id_col": cls.version}
