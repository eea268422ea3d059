"""Issue 15 item 8: the per-worker page caches are never stale after a bulk UPDATE, on both backends.

The caches (app/web/pages/page_cache.py) key on `stamp()`: for the tables in `table_stats` the row count and a
revision that triggers change on every INSERT, UPDATE or DELETE (migration 0006); for any other table the row
count, the sum of `version` and the latest `updated_at`. A bulk UPDATE (`session.execute(update(...))`) is
not refused and does NOT bump `version` (SQLAlchemy's version counter only runs in the unit of work), so
what keeps the caches right is the trigger — and, for an untracked table, the `updated_at` that a Core UPDATE
sets by its `onupdate`. The invariant is written where the version column is defined (app/db/base.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.db.base import TimestampedVersioned
from app.db.fx import FxRate
from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario, SimulationRun
from app.db.stats import TRACKED_TABLES
from app.web.pages.page_cache import stamp

# One real change of each tracked table: a text column gets a suffix.
CHANGES: dict[type[Any], Any] = {
    Accelerator: Accelerator.vendor,
    PriceQuote: PriceQuote.source,
    MarketPrice: MarketPrice.model_name,
    ModelConfig: ModelConfig.name,
    Scenario: Scenario.name,
    SimulationRun: SimulationRun.name,
}


def test_every_tracked_table_is_exercised() -> None:
    assert sorted(m.__tablename__ for m in CHANGES) == sorted(TRACKED_TABLES)


def _one_row(session: Session, model: type[Any]) -> Any:
    if model is SimulationRun:  # the seed stores no runs: add one (the row's contents do not matter here)
        session.add(
            SimulationRun(name="cache", inputs={}, seed=1, path_count=1, horizon_months=1, results={})
        )
        session.flush()
    row = session.scalars(select(model).order_by(model.id).limit(1)).first()
    if row is None:
        pytest.skip(f"the seeded database has no {model.__tablename__}")
    return row


@pytest.mark.parametrize("model", list(CHANGES), ids=lambda m: m.__tablename__)
def test_a_bulk_update_changes_the_cache_stamp_but_not_the_version(
    db_session: Session, model: type[Any]
) -> None:
    row = _one_row(db_session, model)
    row_id, version = row.id, row.version
    before = stamp(db_session, model)
    column = CHANGES[model]
    result = db_session.execute(
        update(model).where(model.id == row_id).values({column: func.coalesce(column, "") + " (bulk)"})
    )
    assert result.rowcount == 1  # not refused
    after = stamp(db_session, model)
    assert after != before, "a bulk UPDATE must change what the page caches key on"
    assert after[0] == before[0]  # the row count is unchanged; the revision moved
    db_session.expire_all()
    assert db_session.get(model, row_id).version == version  # the version column is not bumped by it


@pytest.mark.parametrize("model", [Accelerator, PriceQuote], ids=lambda m: m.__tablename__)
def test_raw_sql_changes_the_cache_stamp_too(db_session: Session, model: type[Any]) -> None:
    row = _one_row(db_session, model)
    before = stamp(db_session, model)
    db_session.execute(
        text(f"UPDATE {model.__tablename__} SET updated_at = updated_at WHERE id = :id"),  # noqa: S608
        {"id": row.id},
    )
    assert stamp(db_session, model) != before


def test_an_orm_write_bumps_the_version_and_the_stamp(db_session: Session) -> None:
    row = _one_row(db_session, Accelerator)
    version = row.version
    before = stamp(db_session, Accelerator)
    row.vendor = row.vendor + " (orm)"
    db_session.flush()
    assert row.version == version + 1
    assert stamp(db_session, Accelerator) != before


def test_an_untracked_table_falls_back_to_updated_at_on_a_bulk_update(db_session: Session) -> None:
    # fx_rates is not in table_stats: stamp() reads (count, sum of versions, latest updated_at); a bulk
    # UPDATE leaves the versions alone, and the Core UPDATE's onupdate moves updated_at.
    assert FxRate.__tablename__ not in TRACKED_TABLES
    assert issubclass(FxRate, TimestampedVersioned)
    row = _one_row(db_session, FxRate)
    before = stamp(db_session, FxRate)
    db_session.execute(update(FxRate).where(FxRate.id == row.id).values(source=FxRate.source + " (bulk)"))
    after = stamp(db_session, FxRate)
    assert after[1] == before[1]  # sum of versions: unchanged
    assert after[2] > before[2]  # latest updated_at: moved, so the key is new
