"""Sessions for reading a job's inputs without taking a write lock.

The app's SQLite engine opens every transaction with BEGIN IMMEDIATE (the write lock, so two writers never
fail on a lock upgrade). A worker that reads inputs and then computes for seconds must not hold that lock:
on SQLite its reads go through an engine whose transactions are plain (deferred) BEGINs — WAL snapshots that
block nobody. On PostgreSQL a read transaction blocks no writer, so the app's engine serves both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings


def read_sessionmaker(database_url: str, write: sessionmaker[Session]) -> sessionmaker[Session]:
    if make_url(database_url).get_backend_name() != "sqlite":
        return write
    timeout_ms = get_settings().sqlite_busy_timeout_ms
    engine = create_engine(
        database_url, connect_args={"timeout": timeout_ms / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return sessionmaker(bind=engine, expire_on_commit=False)
