"""The append-only audit log: who changed what, when (UTC), the row before and after, and a sentence.

Entries are added to the caller's session, so they commit or roll back with the change they describe: a
write that loses a race (409) leaves no entry. The actor comes from `session.info`, set once per request by
the web layer (app/web/auth.py) and by the CLI, so services need no extra argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.db.access import AuditEntry
from app.db.base import Base
from app.services import paging

ACTOR_KEY = "pricewar_actor"
# Never copied into the log: secrets and bookkeeping that changes on every write.
HIDDEN_COLUMNS = frozenset({"password_hash", "token_hash", "id_hash", "csrf_token"})
IGNORED_IN_DIFF = frozenset({"updated_at", "version", "created_at"})

# Units read off the end of a column name (README.md: every quantity carries its unit in its name).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("usd_per_accelerator_hour", "USD/accelerator-h"),
    ("usd_per_hour", "USD/h"),
    ("usd_per_million", "USD/M tokens"),
    ("_tb_s", "TB/s"),
    ("_gb_s", "GB/s"),
    ("_gb", "GB"),
    ("_tflops", "TFLOPS"),
    ("_tops", "TOPS"),
    ("_percent", "%"),
    ("_w", "W"),
)
PRICE_COLUMNS = ("usd_per_hour",)  # shown without the column name: "6.88 → 5.50 USD/h"


@dataclass(frozen=True)
class Actor:
    name: str
    user_id: int | None = None


SYSTEM = Actor("system")


def set_actor(session: Session, name: str, user_id: int | None = None) -> None:
    session.info[ACTOR_KEY] = Actor(name, user_id)


def current_actor(session: Session) -> Actor:
    actor = session.info.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else SYSTEM


def snapshot(row: Base) -> dict[str, Any]:
    """The row's columns as JSON values (dates as ISO text), secrets left out."""
    data: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in HIDDEN_COLUMNS:
            continue
        data[column.key] = _json_value(getattr(row, column.key))
    return data


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: int | None,
    summary: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Add one entry to the session (it commits with the change it describes)."""
    who = actor or current_actor(session)
    entry = AuditEntry(
        actor=who.name[:120],
        actor_id=who.user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        summary=summary[:4000],
    )
    session.add(entry)
    return entry


# ---- sentences -------------------------------------------------------------------------------------------


def unit_of(column: str) -> str:
    return next((unit for suffix, unit in UNIT_SUFFIXES if column.endswith(suffix)), "")


def format_value(column: str, value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        if column.startswith("usd") or "_usd" in column:
            return f"{value:,.2f}" if abs(value) >= 0.01 else f"{value:g}"
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """'6.88 → 5.50 USD/h; memory_gb 96 → 128 GB' for every column that changed."""
    parts: list[str] = []
    keys = [k for k in after if k not in IGNORED_IN_DIFF and before.get(k) != after.get(k)]
    keys.sort(key=lambda k: (k not in PRICE_COLUMNS, 0))
    for key in keys:
        unit = unit_of(key)
        change = f"{format_value(key, before.get(key))} → {format_value(key, after.get(key))}"
        text = change if key in PRICE_COLUMNS else f"{key} {change}"
        parts.append(f"{text} {unit}".rstrip())
    return "; ".join(parts)


def changed_columns(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [k for k in after if k not in IGNORED_IN_DIFF and before.get(k) != after.get(k)]


def label_of(row: Base) -> str:
    """How a person names this row: 'H100-SXM on_demand at aws us-east-1', 'accelerator B200', ..."""
    table = row.__tablename__
    if table == "price_quotes":
        accelerator = getattr(row, "accelerator", None)
        part = (accelerator.name if accelerator is not None else None) or getattr(
            row, "accelerator_family", ""
        )
        part = part or getattr(row, "instance_type", "")
        where = " ".join(x for x in (getattr(row, "provider", ""), getattr(row, "region", "")) if x)
        return f"{part} {getattr(row, 'pricing_model', '')} at {where}".strip()
    if table == "market_prices":
        bits = (getattr(row, "provider", ""), getattr(row, "model_name", ""), getattr(row, "tier", ""))
        return "market price " + " ".join(b for b in bits if b)
    noun = entity_noun(table)
    for attribute in ("name", "username"):
        value = getattr(row, attribute, None)
        if value:
            return f"{noun} {value}"
    return f"{noun} {getattr(row, 'id', '')}".strip()


def entity_noun(table: str) -> str:
    nouns = {
        "model_configs": "model",
        "price_quotes": "price quote",
        "api_tokens": "API token",
        "simulation_runs": "simulation run",
        "users": "user",
    }
    return nouns.get(table, table.rstrip("s").replace("_", " "))


# ---- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> Sequence[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for name in ("entity", "entity_id", "actor", "action"):
            value = getattr(self, name)
            if value is not None:
                out.append(getattr(AuditEntry, name) == value)
        if self.since is not None:
            out.append(AuditEntry.at >= self.since)
        if self.until is not None:
            out.append(AuditEntry.at < self.until)
        return out


def list_entries(
    session: Session, filters: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """Newest first; the total is counted up to `offset` + paging.COUNT_CAP (list_entries_page says so)."""
    rows, total, _ = list_entries_page(session, filters, limit, offset)
    return rows, total


def list_entries_page(
    session: Session, filters: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditEntry], int, bool]:
    """Newest first: (the entries, the total, whether the total is exact). A page is an index walk of
    (at, id) — or of (entity|actor|action, at, id) when filtered — and the total is counted only up to
    `offset` + paging.COUNT_CAP entries, so a page of a million-entry log never counts the whole log."""
    query = (
        select(AuditEntry).where(*filters.conditions()).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    total, exact = paging.capped_count(session, query, offset + paging.COUNT_CAP)
    rows = list(session.scalars(query.limit(limit).offset(offset)))
    return rows, total, exact
