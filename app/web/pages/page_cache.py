"""Small in-process caches for deterministic page computations (per worker process, bounded).

A cached value is keyed by everything it is computed from: the database it was read from and a *stamp* of
the rows it depends on — for the big tables the row count and change revision that triggers keep in
`table_stats` (every insert, update or delete, ORM or raw SQL, gets a never-reused revision; app/db/stats.py),
for others the row count, the sum of the optimistic-lock versions and the latest `updated_at`. An edit is a
new key and a cached answer is never served stale; old keys simply age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.db.stats import TRACKED_TABLES, TableStat

T = TypeVar("T")


class BoundedCache:
    """A thread-safe LRU of at most `size` entries (the worker's threads share it)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        # What is cached may hold formatted amounts: the request's display currency is part of every key.
        from app.web.currency import current_money

        money = current_money()
        key = (money.code, money.per_usd, money.as_of, key)
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
        value = compute()  # outside the lock: two threads may both compute a miss, both get the same value
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def database_of(session: Session) -> str:
    """Which database the session reads (tests run SQLite and PostgreSQL in one process)."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return str(engine.url)


def stamp_columns(model: Any, *where: Any) -> list[Any]:
    """Three scalar subqueries whose values change with any insert, update or delete of `model`'s rows."""

    def sub(column: Any) -> Any:
        query = select(column).select_from(model)
        return (query.where(*where) if where else query).scalar_subquery()

    return [
        sub(func.count()),
        sub(func.coalesce(func.sum(model.version), 0)),
        sub(func.max(model.updated_at)),
    ]


def table_stat_columns(model: Any) -> list[Any]:
    """The row count and the change stamp of a tracked table (app/db/stats.py): kept by triggers on every
    insert, update or delete, read by primary key — no scan of the table."""
    where = TableStat.table_name == model.__tablename__
    return [
        select(TableStat.row_count).where(where).scalar_subquery(),
        select(TableStat.revision).where(where).scalar_subquery(),
    ]


def stamp(session: Session, *models: Any) -> tuple[Any, ...]:
    """The stamps of whole tables, in one round trip: the triggers' (row count, revision) of the tracked
    tables, the scanned (count, sum of versions, latest update) of any other."""
    columns = [
        c
        for m in models
        for c in (table_stat_columns(m) if m.__tablename__ in TRACKED_TABLES else stamp_columns(m))
    ]
    return tuple(session.execute(select(*columns)).one())
