"""Shared fixtures: a migrated, seeded database per backend (SQLite always, PostgreSQL when reachable or
required), a session that rolls back after each test, and a test client on that session.

Each test runs inside an outer transaction that is rolled back at the end; the request's own commit only
releases a savepoint, so tests never see each other's rows. Set REQUIRE_POSTGRES=1 (CI does) to make a
missing PostgreSQL fail the run instead of skipping its tests.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Point the app at a throwaway SQLite file before anything reads the settings.
_TMP = Path(tempfile.mkdtemp(prefix="pricewar-tests-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'app.sqlite3'}"
os.environ.setdefault("PRICEWAR_ENVIRONMENT", "test")

import pytest  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.db.session import make_engine  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def run_alembic(engine: Engine, action: str = "upgrade", revision: str = "head") -> None:
    """Run the real Alembic migrations (upgrade/downgrade/check) on `engine`."""
    from alembic import command

    from app.cli import _alembic_config

    config = _alembic_config()
    config.attributes["configure_logger"] = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if action == "check":
            command.check(config)
        else:
            getattr(command, action)(config, revision)


def migrate_empty(url: str) -> Engine:
    engine = make_engine(url)
    run_alembic(engine)
    return engine


def migrate_and_seed(url: str) -> Engine:
    """A migrated database with the reference data loaded."""
    from app.services.reference_data import seed_reference_data

    engine = migrate_empty(url)
    with Session(engine) as session:
        seed_reference_data(session)
        session.commit()
    return engine


def _postgres_available() -> bool:
    try:
        probe = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def create_postgres_database() -> tuple[str, callable]:  # type: ignore[valid-type]
    """A fresh PostgreSQL database for this test run; returns its URL and a function that drops it."""
    if not _postgres_available():
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable")
        pytest.skip("PostgreSQL not reachable (set REQUIRE_POSTGRES=1 to make this a failure)")
    name = f"pricewar_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, seeded database for each backend, shared by the tests of a run."""
    if request.param == "sqlite":
        engine = migrate_and_seed(f"sqlite:///{_TMP / 'tests.sqlite3'}")
        yield engine
        engine.dispose()
        return
    url, drop = create_postgres_database()
    engine = migrate_and_seed(url)
    yield engine
    engine.dispose()
    drop()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoint releases)."""
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(db_session: Session) -> Iterator[object]:
    """A test client whose requests use `db_session` (one savepoint per request)."""
    from fastapi.testclient import TestClient

    from app.main import app
    from app.web.deps import get_session

    def session_override() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = session_override
    with TestClient(app) as test_client:
        yield test_client
    app.dependency_overrides.pop(get_session, None)
