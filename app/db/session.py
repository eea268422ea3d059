"""Engine and session factory; SQLite gets foreign keys, WAL and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings


def make_engine(url: str, busy_timeout_ms: int = 15_000) -> Engine:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy own transactions; BEGIN IMMEDIATE on writes avoids lock upgrades failing
        # under two concurrent writers (they wait on the busy timeout instead).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Reads (a session bound through read_only_bind) begin DEFERRED: in WAL mode they never take the
        # write lock, so they never wait behind a writer nor make one wait.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY_OPTION = "pricewar_read_only"
WRITE_BIND_INFO = "pricewar_write_bind"
_READ_BINDS: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def read_only_bind(engine: Engine) -> Engine:
    """The same engine and pool, marked so that SQLite begins a deferred (reading) transaction.

    For requests that read (GET/HEAD): a write in such a transaction still works in WAL mode, but may fail
    with "database is locked" if another writer committed since it began, so code that writes on a GET must
    tolerate that (see accounts.resolve_session)."""
    bound = _READ_BINDS.get(engine)
    if bound is None:
        bound = _READ_BINDS[engine] = engine.execution_options(**{READ_ONLY_OPTION: True})
    return bound


def end_transaction(session: Session) -> None:
    """End the session's transaction before long compute (read inputs → end → compute → write in a new one).

    Commits what is pending (only bookkeeping such as a session's last-seen time may be, since the use case
    calls this before it writes anything), so no lock, snapshot or pooled connection is held while the
    compute runs; loaded rows stay usable (expire_on_commit=False). Inside a test's outer transaction this
    releases a savepoint only."""
    if session.in_transaction():
        session.commit()
    write_bind = session.info.pop(WRITE_BIND_INFO, None)
    if write_bind is not None:  # a request that read first: what follows is the short writing transaction
        session.bind = write_bind


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
