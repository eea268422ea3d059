"""Row counts and change stamps of the big tables, kept by the database itself (issue 17).

`table_stats` has one row per tracked table: `row_count` (exact, transactional) and `revision`, a value that
changes with every INSERT, UPDATE or DELETE of that table and is never reused (a PostgreSQL sequence; a
64-bit random value on SQLite). Triggers maintain both (see migration 0006) — so ORM writes, bulk inserts,
imports and raw SQL all count — and reading a count or a stamp is one primary-key lookup instead of a scan
of the table. The per-worker page caches key on these stamps (app/web/pages/page_cache.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

# The tables the triggers keep (the append-only audit log is not one: every write adds to it, and a counter
# row would serialise all writers; its pages count up to a cap instead).
TRACKED_TABLES = (
    "accelerators",
    "price_quotes",
    "market_prices",
    "model_configs",
    "scenarios",
    "simulation_runs",
)


class TableStat(Base):
    __tablename__ = "table_stats"

    table_name: Mapped[str] = mapped_column(String(60), primary_key=True)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
