"""Server-side paging with a bounded page size, for every list the product shows (issue 17).

`paginate(session, query, page, page_size)` runs the query's page (`LIMIT`/`OFFSET`) and a *capped* count —
`SELECT count(*) FROM (<query> LIMIT cap + 1)` — so a page of a million-row table costs an index walk of one
page plus at most `cap` index entries, never a count of the whole table. The query must carry its filters
and a deterministic order ending in the primary key (so pages never overlap or skip rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 1_000
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int  # 1-based, clamped to the last page
    page_size: int
    total: int  # exact when total_is_exact, else the cap ("more than")
    total_is_exact: bool

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.page_count or (not self.total_is_exact and len(self.items) == self.page_size)

    @property
    def first_row(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        return (self.page - 1) * self.page_size + len(self.items)

    @property
    def total_label(self) -> str:
        return f"{self.total:,}" if self.total_is_exact else f"more than {self.total:,}"


def page_number(text: str | None) -> int:
    """A page number from a query string: junk, empty or < 1 → 1; bounded."""
    text = (text or "").strip()
    return min(int(text), MAX_PAGE) if text.isdigit() and int(text) > 0 else 1


def clamp_page_size(size: int | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    return max(1, min(int(size or default), MAX_PAGE_SIZE))


def capped_count(session: Session, query: Select[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(rows the query returns, exact?) counting at most `cap` + 1 rows."""
    # One narrow column: the count can be answered from an index (index-only) instead of the rows.
    narrow = query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(cap + 1)
    inner = narrow.subquery()
    counted = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return (counted, True) if counted <= cap else (cap, False)


def paginate(
    session: Session,
    query: Select[Any],
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    *,
    scalars: bool = True,
    count_cap: int = COUNT_CAP,
) -> Page[Any]:
    """One page of `query` (ORM entities with `scalars`, else rows) and its capped total; a page past the
    end shows the last page (when the total is exact)."""
    size = clamp_page_size(page_size)
    total, exact = capped_count(session, query, count_cap)
    last = max(1, -(-total // size))
    number = min(max(1, page), last) if exact else max(1, min(page, MAX_PAGE))
    paged = query.limit(size).offset((number - 1) * size)
    items = list(session.scalars(paged)) if scalars else list(session.execute(paged).all())
    return Page(items, number, size, total, exact)
