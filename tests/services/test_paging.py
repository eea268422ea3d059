"""The paging helper (issue 17): bounded page size, a count that stops at the cap, pages never overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db.access import AuditEntry
from app.services import paging


def _log(session: Session, n: int) -> None:
    now = datetime.now(UTC)
    session.execute(
        insert(AuditEntry),
        [
            {"at": now - timedelta(seconds=i), "actor": "paging-test", "action": "update",
             "entity": "paging", "entity_id": i, "summary": ""}
            for i in range(n)
        ],
    )  # fmt: skip


def _query():  # type: ignore[no-untyped-def]
    return (
        select(AuditEntry)
        .where(AuditEntry.entity == "paging")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )


def test_pages_cover_every_row_once_and_clamp(db_session: Session) -> None:
    _log(db_session, 23)
    seen = []
    for number in range(1, 4):
        page = paging.paginate(db_session, _query(), number, 10)
        assert page.total == 23 and page.total_is_exact and page.page_count == 3
        seen += [e.entity_id for e in page.items]
    assert seen == list(range(23))
    last = paging.paginate(db_session, _query(), 999, 10)
    assert last.page == 3 and len(last.items) == 3 and not last.has_next and last.has_previous
    assert paging.paginate(db_session, _query(), 1, 10_000).page_size == paging.MAX_PAGE_SIZE
    assert [paging.page_number(t) for t in ("", "0", "-2", "x", "7", "99999999")] == [
        1,
        1,
        1,
        1,
        7,
        paging.MAX_PAGE,
    ]


def test_the_count_stops_at_the_cap(db_session: Session) -> None:
    _log(db_session, 30)
    page = paging.paginate(db_session, _query(), 1, 10, count_cap=25)
    assert (page.total, page.total_is_exact) == (25, False)
    assert page.total_label == "more than 25" and page.has_next
    assert paging.capped_count(db_session, _query(), 30) == (30, True)
