"""The queue engine: huey, on the database the app already has (no extra service to run).

- PostgreSQL: `PostgresHuey` (psycopg 3) — tasks in tables of the schema `pricewar_queue` (created by the
  migration), taken with `DELETE ... FOR UPDATE SKIP LOCKED` so each message goes to exactly one worker on any
  machine, and woken by LISTEN/NOTIFY (no polling delay).
- SQLite: `SqliteHuey` in a file next to the database (`<name>-queue.sqlite3`): one machine, the embedded
  worker of `make run` or `pricewar worker` processes beside it.

A queue message only says "start job N" or "run chunk k of job N"; the state users see lives in our `jobs`
table, so a lost or duplicated message never changes a result (claims are atomic updates of that table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, PostgresHuey, SqliteHuey
from sqlalchemy.engine import make_url

QUEUE_NAME = "pricewar"
PG_SCHEMA = "pricewar_queue"


def sqlite_queue_path(database_url: str) -> Path | None:
    """Where the SQLite queue lives for a SQLite database URL (None: an in-memory database)."""
    path = make_url(database_url).database
    if not path or path == ":memory:":
        return None
    db = Path(path)
    return db.with_name(db.stem + "-queue.sqlite3")


def build_huey(database_url: str, **options: Any) -> Huey:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(
            QUEUE_NAME,
            dsn=dsn,
            results=False,
            utc=True,
            table_prefix="huey",
            read_timeout=1,
            options=f"-c search_path={PG_SCHEMA}",
            **options,
        )
    path = sqlite_queue_path(database_url)
    if path is None:
        return MemoryHuey(QUEUE_NAME, results=False, utc=True, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path), results=False, utc=True, timeout=15, **options)
