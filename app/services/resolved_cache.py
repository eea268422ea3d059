"""A per-process memo of the stored rows an estimate resolves (model configuration, accelerator, cheapest
price): the same answer as reading them again, without the three to five ORM queries per request.

Every entry is keyed by the database it was read from, the day (prices are "in effect today"), and the change
stamps that triggers keep in `table_stats` for accelerators, price quotes and model configurations (every
insert, update or delete — ORM, bulk or raw SQL — gets a never-reused revision; app/db/stats.py). The stamps
are read in one primary-key query per request, so an edit is a new key at once and a stale row is never
served; old keys age out of the bounded LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.db.stats import TableStat

T = TypeVar("T")

STAMPED_TABLES = ("accelerators", "price_quotes", "model_configs")
_STAMPS = (
    select(TableStat.table_name, TableStat.row_count, TableStat.revision)
    .where(TableStat.table_name.in_(STAMPED_TABLES))
    .order_by(TableStat.table_name)
)
MAX_ENTRIES = 512


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
        value = compute()  # outside the lock; an exception is not cached
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_CACHE = _Lru(MAX_ENTRIES)


def clear() -> None:
    _CACHE.clear()


class Resolved:
    """The memo for one request: `get(key, compute)` returns compute()'s value for this database, day and
    stamp of the stored rows, computing it at most once per key while nothing changes."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._base: tuple[Any, ...] | None = None
        self._read = False

    def _stamp(self) -> tuple[Any, ...] | None:
        """Read once, on the first stored lookup (an estimate with everything inline reads nothing)."""
        if not self._read:
            self._read = True
            bind = self._session.get_bind()
            engine = bind.engine if isinstance(bind, Connection) else bind
            rows = tuple(tuple(r) for r in self._session.execute(_STAMPS))
            # Without the stamps (a database older than the triggers) nothing is memoised.
            if len(rows) == len(STAMPED_TABLES):
                self._base = (str(engine.url), date.today(), rows)
        return self._base

    def get(self, key: Hashable, compute: Callable[[], T], *, stored: bool = True) -> T:
        """stored=False: compute() reads no stored row (a given price, an inline part): no stamp is read."""
        base = self._stamp() if stored else None
        if base is None:
            return compute()
        return _CACHE.get_or_compute((base, key), compute)
