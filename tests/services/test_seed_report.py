"""Issue 13 item 12: the seed never says "skipped" for a row it loaded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.reference_data import seed_reference_data
from tests.conftest import migrate_empty


def test_a_spot_only_row_is_a_note_not_a_skip(tmp_path) -> None:
    engine = migrate_empty(f"sqlite:///{tmp_path / 'seed.sqlite3'}")
    with Session(engine) as session:
        report = seed_reference_data(session)
        session.commit()
        again = seed_reference_data(session)
    engine.dispose()
    assert not any("spot price" in s or "spot quote" in s for s in report.skipped)
    assert any("loaded as a spot quote" in n for n in report.notes)
    assert "note: " in report.summary()
    assert not again.notes  # nothing loaded the second time, nothing to note
