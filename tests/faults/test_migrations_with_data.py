"""Migrations one revision at a time, down and up again, with data in every table: the rows of the tables an
older revision keeps survive each step, on both backends (tests/services/test_database.py covers the
whole-way base ↔ head round trip)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tests.conftest import create_postgres_database, migrate_and_seed, run_alembic

pytestmark = pytest.mark.faults


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='pricewar-migrations-')) / 'm.sqlite3'}"
        engine = migrate_and_seed(url)
        yield engine, url
        engine.dispose()
        return
    url, drop = create_postgres_database()
    try:
        engine = migrate_and_seed(url)
        yield engine, url
        engine.dispose()
    finally:
        drop()


def _revisions() -> list[str]:
    """Revision ids from head down to the first."""
    from app.cli import _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in script.walk_revisions()]


def _counts(engine: Engine) -> dict[str, int]:
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    with engine.connect() as connection:
        return {n: int(connection.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names}  # noqa: S608


def _add_rows_everywhere(engine: Engine, url: str) -> None:
    """A user, a token and an audit entry when the revision has accounts (through the app's own code)."""
    from tests.faults.conftest import app_on_database, auth_headers

    if auth_headers(url):  # a user and a token
        with app_on_database(url) as client:
            changed = client.patch("/api/v1/accelerators/1", json={"notes": "audited", "version": 1})
            assert changed.status_code == 200, changed.text


def test_each_revision_down_and_up_keeps_the_data_of_the_others(seeded: tuple[Engine, str]) -> None:
    engine, url = seeded
    _add_rows_everywhere(engine, url)
    at_head = _counts(engine)
    assert at_head["price_quotes"] > 0
    revisions = _revisions()
    for index, revision in enumerate(revisions):
        below = revisions[index + 1] if index + 1 < len(revisions) else "base"
        before = _counts(engine)
        run_alembic(engine, "downgrade", below)
        after = _counts(engine)
        # Tables that remain keep every row; only the revision's own tables go.
        assert {name: before[name] for name in after} == after, revision
    assert _counts(engine) == {}
    run_alembic(engine, "upgrade", "head")
    run_alembic(engine, "check")


def test_one_step_down_and_up_with_data_keeps_the_rest(seeded: tuple[Engine, str]) -> None:
    engine, url = seeded
    _add_rows_everywhere(engine, url)
    revisions = _revisions()
    if len(revisions) < 2:
        pytest.skip("a single revision: nothing between head and base")
    before = _counts(engine)
    run_alembic(engine, "downgrade", revisions[1])
    run_alembic(engine, "upgrade", "head")
    after = _counts(engine)
    kept = {name for name in before if name in after and after[name]}
    assert {"accelerators", "price_quotes", "market_prices", "model_configs"} <= kept
    assert {name: before[name] for name in kept} == {name: after[name] for name in kept}
    run_alembic(engine, "check")
    # And the app still works on the re-upgraded database (writes included).
    from tests.faults.conftest import app_on_database

    with app_on_database(url) as client:
        assert client.get("/readyz").status_code == 200
        row = client.get("/api/v1/accelerators/1").json()
        changed = client.patch(
            "/api/v1/accelerators/1", json={"notes": "after re-upgrade", "version": row["version"]}
        )
        assert changed.status_code == 200, changed.text
