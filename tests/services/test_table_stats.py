"""table_stats (issue 17): the triggers keep exact row counts and a change stamp of the big tables on both
backends, whatever writes (ORM, bulk insert, raw SQL, delete), and a rollback takes its changes back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.db.models import MarketPrice, PriceQuote
from app.db.stats import TRACKED_TABLES, TableStat
from app.web.pages.page_cache import stamp


def _stats(session: Session) -> dict[str, tuple[int, int]]:
    return {s.table_name: (s.row_count, s.revision) for s in session.scalars(select(TableStat))}


def _counts(session: Session) -> dict[str, int]:
    return {t: int(session.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TRACKED_TABLES}  # noqa: S608


def test_counts_and_stamps_follow_every_kind_of_write(db_session: Session) -> None:
    start = _stats(db_session)
    assert {t: c for t, (c, _) in start.items()} == _counts(db_session)
    before = stamp(db_session, PriceQuote, MarketPrice)

    row = dict(
        provider="stats-test",
        instance_type="x1",
        region="",
        accelerator_id=None,
        accelerator_family="",
        accelerator_count=1,
        pricing_model="on_demand",
        usd_per_hour=1.0,
        usd_per_accelerator_hour=1.0,
        discount_percent=0.0,
        price_scope="instance_total",
        effective_from=date(2026, 1, 1),
        source="",
        verification="user-entered",
        notes="",
        version=1,
    )
    db_session.execute(insert(PriceQuote), [{**row, "instance_type": f"x{i}"} for i in range(250)])
    after_bulk = stamp(db_session, PriceQuote, MarketPrice)
    assert after_bulk[0] == before[0] + 250 and after_bulk[1] != before[1]
    assert after_bulk[2:] == before[2:]  # the market prices were not touched

    db_session.execute(update(PriceQuote).where(PriceQuote.provider == "stats-test").values(notes="n"))
    after_update = stamp(db_session, PriceQuote)
    assert after_update[0] == after_bulk[0] and after_update[1] != after_bulk[1]

    db_session.execute(delete(PriceQuote).where(PriceQuote.provider == "stats-test"))
    after_delete = stamp(db_session, PriceQuote)
    assert after_delete[0] == before[0] and after_delete[1] not in (before[1], after_update[1])
    assert {t: c for t, (c, _) in _stats(db_session).items()} == _counts(db_session)


def test_a_rolled_back_write_leaves_the_counts_as_they_were(db_session: Session) -> None:
    start = _stats(db_session)
    nested = db_session.begin_nested()
    db_session.execute(
        insert(MarketPrice),
        [
            dict(
                provider="p",
                model_name=f"m{i}",
                tier="",
                input_usd_per_million=1.0,
                output_usd_per_million=2.0,
                effective_date=date(2026, 1, 1),
                event_type="cut",
                original_currency="USD",
                date_basis="day",
                change_note="",
                source="",
                verification="user-entered",
                notes="",
                version=1,
            )
            for i in range(10)
        ],
    )
    assert _stats(db_session)["market_prices"][0] == start["market_prices"][0] + 10
    nested.rollback()
    assert _stats(db_session) == start
    count = db_session.scalar(select(func.count()).select_from(MarketPrice))
    assert start["market_prices"][0] == count
