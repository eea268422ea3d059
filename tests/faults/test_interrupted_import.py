"""An import interrupted halfway (an error after rows were flushed, or the process killed) leaves the
database exactly as it was, on both backends."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.db.models import PriceQuote
from app.services import quote_import, transfer
from app.services.transfer import TABLES
from tests.faults.conftest import app_on_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the source tree

pytestmark = pytest.mark.faults


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database with no rows."""
    from tests.conftest import create_postgres_database, migrate_empty

    if request.param == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='pricewar-import-')) / 'empty.sqlite3'}"
        migrate_empty(url).dispose()
        yield url
        return
    url, drop = create_postgres_database()
    try:
        migrate_empty(url).dispose()
        yield url
    finally:
        drop()


def _counts(url: str) -> dict[str, int]:
    from app.db.session import make_engine

    engine: Engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def document() -> dict:
    """An export of the seeded reference data (a few hundred rows in several tables)."""
    from app.db.session import make_engine
    from tests.conftest import migrate_and_seed

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='pricewar-export-')) / 'seeded.sqlite3'}"
    migrate_and_seed(url).dispose()
    engine = make_engine(url)
    with Session(engine) as session:
        exported = transfer.export_document(session)
    engine.dispose()
    assert sum(len(exported[m.__tablename__]) for m in TABLES) > 300
    return exported


def test_json_import_failing_after_flush_writes_nothing(empty_url: str, document: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    flushed: list[int] = []

    def fail_after_rows_are_in(session: Session, *tables: object) -> None:
        flushed.append(session.scalar(select(func.count()).select_from(PriceQuote)) or 0)
        raise RuntimeError("injected crash after the rows were flushed")

    monkeypatch.setattr(transfer, "_reset_sequences", fail_after_rows_are_in)
    with app_on_database(empty_url, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/import", json=document)
        assert response.status_code == 500
        assert flushed and flushed[0] == len(document["price_quotes"])  # the rows were in the transaction
        assert client.get("/api/v1/price-quotes?include_history=true").json()["total"] == 0
    assert set(_counts(empty_url).values()) == {0}


def test_csv_import_failing_halfway_writes_nothing(empty_url: str, document: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The accelerators exist; the CSV adds 40 quotes and the apply step dies at the 25th.
    rows = ["provider,instance_type,region,accelerator_count,pricing_model,usd_per_hour,effective_from"]
    rows += [f"TestCloud,box-{i},eu-1,8,on_demand,{20 + i}.5,2025-01-01" for i in range(40)]
    csv_text = "\n".join(rows) + "\n"
    original, applied = quote_import._apply, []

    def apply_then_crash(session, current, values):  # type: ignore[no-untyped-def]
        if len(applied) == 25:
            raise RuntimeError("injected crash halfway through the import")
        original(session, current, values)
        applied.append(values)

    monkeypatch.setattr(quote_import, "_apply", apply_then_crash)
    with app_on_database(empty_url, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/price-quotes/import?dry_run=false",
            files={"file": ("quotes.csv", io.BytesIO(csv_text.encode()), "text/csv")},
        )
        assert response.status_code == 500
        assert len(applied) == 25
    assert _counts(empty_url)["price_quotes"] == 0


KILLED_IMPORT = """
import sys, time
from app.services import transfer
def stop_here(session, *tables):
    print("ROWS-FLUSHED", flush=True)
    time.sleep(120)
transfer._reset_sequences = stop_here
from app.cli import main
sys.exit(main(["import", sys.argv[1]]))
"""


def test_import_process_killed_halfway_leaves_the_database_as_it_was(empty_url: str, document: dict) -> None:
    path = Path(tempfile.mkdtemp(prefix="pricewar-killed-")) / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": empty_url}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, str(path)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "ROWS-FLUSHED", process.stderr.read()  # type: ignore[union-attr]
        process.send_signal(signal.SIGKILL)  # no rollback, no cleanup: the database must undo it
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert set(_counts(empty_url).values()) == {0}
    # And a clean import afterwards works: nothing was left locked or half-written.
    with app_on_database(empty_url) as client:
        response = client.post("/api/v1/import", json=document)
        assert response.status_code == 200, response.text
    assert _counts(empty_url)["price_quotes"] == len(document["price_quotes"])
