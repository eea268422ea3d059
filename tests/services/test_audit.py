"""The audit log: one entry per change, in words, with before/after, in the same transaction as the change;
append-only; and exactly one entry when two writers race for the same row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.access import AuditEntry
from app.db.models import Accelerator, ModelConfig, PriceQuote
from app.services import audit, crud, price_sheet
from app.services.errors import ConflictError
from tests.conftest import BACKENDS, seeded_database


def _entries(session: Session, **filters: object) -> list[AuditEntry]:
    rows, _ = audit.list_entries(session, audit.AuditFilter(**filters), 100, 0)  # type: ignore[arg-type]
    return rows


def _open_quote(session: Session, provider: str = "aws") -> PriceQuote:
    return session.scalars(
        select(PriceQuote)
        .where(
            PriceQuote.provider == provider,
            PriceQuote.effective_to.is_(None),
            PriceQuote.accelerator_id.is_not(None),
        )
        .order_by(PriceQuote.id)
    ).first()


def test_create_update_delete_are_logged_with_words(db_session: Session) -> None:
    audit.set_actor(db_session, "alice", 7)
    row = crud.create_row(
        db_session,
        Accelerator,
        {"name": "Audit-GPU", "vendor": "Acme", "memory_gb": 96.0, "memory_bandwidth_tb_s": 4.0},
    )
    crud.update_row(db_session, row, {"memory_gb": 128.0, "notes": "more HBM"}, 1)
    crud.delete_row(db_session, row)
    created, updated, deleted = reversed(_entries(db_session, entity="accelerators", entity_id=row.id))
    assert [e.action for e in (created, updated, deleted)] == ["create", "update", "delete"]
    assert {e.actor for e in (created, updated, deleted)} == {"alice"} and created.actor_id == 7
    assert created.before is None and created.after["memory_gb"] == 96.0
    assert updated.before["memory_gb"] == 96.0 and updated.after["memory_gb"] == 128.0
    assert updated.summary == "accelerator Audit-GPU: memory_gb 96 → 128 GB; notes (empty) → more HBM"
    assert deleted.summary == "deleted accelerator Audit-GPU" and deleted.after is None
    assert created.at.tzinfo is not None  # UTC, timezone-aware


def test_price_change_is_one_entry_in_words(db_session: Session) -> None:
    quote = _open_quote(db_session)
    old = quote.usd_per_hour
    start = quote.effective_from + timedelta(days=1)
    new = price_sheet.change_quote(
        db_session, quote, {"usd_per_hour": 5.5, "effective_from": start}, quote.version
    )
    [entry] = _entries(db_session, entity="price_quotes", entity_id=new.id)
    assert entry.action == "price_change"
    name = quote.accelerator.name
    expected = f"{name} {quote.pricing_model} at {quote.provider} {quote.region}".strip()
    assert entry.summary.startswith(f"{expected}: {old:,.2f} → 5.50 USD/h")
    assert entry.summary.endswith(f"from {start.isoformat()}")
    assert entry.before["usd_per_hour"] == old and entry.before["effective_to"] is None
    assert entry.after["usd_per_hour"] == 5.5 and entry.after["id"] == new.id
    # The closing of the old row is part of the same entry, not a second one.
    assert not _entries(db_session, entity="price_quotes", entity_id=quote.id)


def test_restore_adds_a_new_dated_row(db_session: Session) -> None:
    quote = _open_quote(db_session, "gcp") or _open_quote(db_session)
    old_price, first_day = quote.usd_per_hour, quote.effective_from
    cut = price_sheet.change_quote(
        db_session,
        quote,
        {"usd_per_hour": old_price / 2, "effective_from": first_day + timedelta(days=1)},
        quote.version,
    )
    restored = price_sheet.restore_quote(db_session, quote, first_day + timedelta(days=2))
    assert restored.usd_per_hour == old_price and restored.id not in (quote.id, cut.id)
    assert cut.effective_to == first_day + timedelta(days=2) and quote.effective_to == first_day + timedelta(
        days=1
    )
    [entry] = _entries(db_session, action="restore")
    assert f"restored the price of {first_day.isoformat()}" in entry.summary
    with pytest.raises(ConflictError):
        price_sheet.restore_quote(db_session, restored)  # the current row: nothing to restore


def test_failed_write_leaves_no_entry(db_session: Session) -> None:
    model = db_session.scalars(select(ModelConfig)).first()
    before = len(_entries(db_session, entity="model_configs"))
    with pytest.raises(ConflictError):
        crud.update_row(db_session, model, {"notes": "stale"}, model.version + 5)
    assert len(_entries(db_session, entity="model_configs")) == before


def test_secrets_never_reach_the_log(db_session: Session) -> None:
    from app.services import accounts

    user = accounts.create_user(db_session, "auditee", "plum-orchard-lantern", "viewer")
    [entry] = _entries(db_session, entity="users", entity_id=user.id)
    assert "password_hash" not in entry.after and "plum-orchard" not in str(entry.after)
    assert entry.summary == "created user auditee with role viewer"


def test_audit_log_is_append_only(db_session: Session) -> None:
    entry = audit.record(db_session, "note", "tests", None, "a line")
    db_session.flush()
    for statement in (
        "UPDATE audit_entries SET summary = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_entries WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement), {"id": entry.id})
    assert db_session.get(AuditEntry, entry.id).summary == "a line"


# ---- two writers, one row ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def committed_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A database of its own (writers here really commit), per backend."""
    with seeded_database(request.param, "race.sqlite3") as engine:
        yield engine


def test_two_writers_one_winner_one_entry(committed_engine: Engine) -> None:
    with Session(committed_engine) as setup:
        row_id = setup.scalars(select(ModelConfig.id).order_by(ModelConfig.id)).first()
        before = setup.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_id == row_id, AuditEntry.entity == "model_configs")
        )
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def writer(name: str) -> None:
        with Session(committed_engine, expire_on_commit=False) as session:
            row = session.get(ModelConfig, row_id)
            version = row.version
            session.commit()  # both have read the same version; neither holds a lock now
            barrier.wait()
            try:
                audit.set_actor(session, name)
                crud.update_row(session, row, {"notes": f"written by {name}"}, version)
                session.commit()
                outcomes.append("won")
            except ConflictError:
                session.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "won"]
    with Session(committed_engine) as check:
        entries = check.scalars(
            select(AuditEntry).where(AuditEntry.entity == "model_configs", AuditEntry.entity_id == row_id)
        ).all()
        assert len(entries) == before + 1
        winner = check.get(ModelConfig, row_id)
        assert entries[-1].summary.endswith(f"→ written by {entries[-1].actor}")
        assert winner.notes == f"written by {entries[-1].actor}"


def test_import_is_logged_once(db_session: Session) -> None:
    from app.services import quote_import

    quote = _open_quote(db_session)
    line = (
        "provider,instance_type,region,accelerator_count,pricing_model,usd_per_hour,effective_from\n"
        f"{quote.provider},{quote.instance_type},{quote.region},{quote.accelerator_count},{quote.pricing_model},"
        f"{quote.usd_per_hour * 0.9},{(date.today() + timedelta(days=3)).isoformat()}\n"
        "newcloud,nc.1,eu,1,on_demand,2.5,2026-01-01\n"
    )
    report = quote_import.import_quotes(db_session, line, dry_run=False)
    assert report.committed and report.added == 1 and report.changed == 1
    [summary] = _entries(db_session, action="import")
    assert summary.summary == "CSV import of price quotes: 1 added, 1 changed, 0 unchanged"
    assert (
        len(_entries(db_session, action="price_change")) == 1
        and len(_entries(db_session, action="create")) == 1
    )
