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
from contextlib import contextmanager
from pathlib import Path

# Point the app at a throwaway SQLite file before anything reads the settings.
_TMP = Path(tempfile.mkdtemp(prefix="pricewar-tests-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'app.sqlite3'}"
os.environ.setdefault("PRICEWAR_ENVIRONMENT", "test")

import pytest  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.db.session import make_engine  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
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


@contextmanager
def seeded_database(backend: str, sqlite_name: str) -> Iterator[Engine]:
    """A migrated, seeded database of its own on `backend` (a file in the run's temp folder for SQLite, a
    fresh database for PostgreSQL), removed afterwards."""
    if backend == "sqlite":
        engine = migrate_and_seed(f"sqlite:///{_TMP / sqlite_name}")
        yield engine
        engine.dispose()
        return
    url, drop = create_postgres_database()
    engine = migrate_and_seed(url)
    try:
        yield engine
    finally:
        engine.dispose()
        drop()


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, seeded database for each backend, shared by the tests of a run."""
    with seeded_database(request.param, "tests.sqlite3") as engine:
        yield engine


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


def add_user(session: Session, username: str, role: str, password: str | None = None) -> object:
    """A user in the test's transaction; without a password the account can only use API tokens (fast: no
    argon2 hash to compute)."""
    from app.db.access import User
    from app.services.passwords import hash_password

    user = User(
        username=username,
        role=role,
        is_active=True,
        password_hash=hash_password(password) if password else "!no-password",
    )
    session.add(user)
    session.flush()
    return user


def bearer_token(session: Session, user: object, role: str | None = None) -> str:
    """A live API token for `user` (stored hashed, like the real ones); returns the secret."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from app.db.access import ApiToken
    from app.services.accounts import TOKEN_PREFIX, digest

    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name="tests",
            token_hash=digest(raw),
            prefix=raw[:12],
            role=role or user.role,  # type: ignore[attr-defined]
            user_id=user.id,
            expires_at=datetime.now(UTC) + timedelta(days=1),  # type: ignore[attr-defined]
        )
    )
    session.flush()
    return raw


@pytest.fixture
def app_on_session(db_session: Session) -> Iterator[object]:
    """The app, with every request on `db_session` (one savepoint per request)."""
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
    yield app
    app.dependency_overrides.pop(get_session, None)


@pytest.fixture
def anon_client(app_on_session: object) -> Iterator[object]:
    """A test client that is not signed in (anonymous reading follows Settings.anonymous_read)."""
    from fastapi.testclient import TestClient

    with TestClient(app_on_session) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
def client(app_on_session: object, db_session: Session) -> Iterator[object]:
    """A test client signed in as an admin through an API token (so writes pass the role checks and, being
    Bearer requests, the CSRF check). Use `anon_client` for anonymous requests."""
    from fastapi.testclient import TestClient

    admin = add_user(db_session, "test-admin", "admin")
    token = bearer_token(db_session, admin)
    db_session.commit()  # a request that fails rolls back its savepoint only, not the admin and its token
    with TestClient(app_on_session) as test_client:  # type: ignore[arg-type]
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client
