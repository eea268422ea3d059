"""Generic use cases for the stored resources: list with filters, sort and pagination; get; create; update
with an optimistic-lock version; delete refused while referenced. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import Base
from app.services import audit, paging
from app.services.errors import ConflictError, NotFoundError, ValidationFailed

RowT = TypeVar("RowT", bound=Base)


def list_rows(
    session: Session,
    model: type[RowT],
    conditions: Sequence[ColumnElement[bool]],
    sort: str | None,
    limit: int,
    offset: int,
) -> tuple[list[RowT], int]:
    """Rows matching every condition, sorted (`-field` for descending), one page of them, and the total
    (counted up to offset + paging.COUNT_CAP: list_rows_page says whether it is exact)."""
    rows, total, _ = list_rows_page(session, model, conditions, sort, limit, offset)
    return rows, total


def list_rows_page(
    session: Session,
    model: type[RowT],
    conditions: Sequence[ColumnElement[bool]],
    sort: str | None,
    limit: int,
    offset: int,
) -> tuple[list[RowT], int, bool]:
    """One page of the matching rows, the total counted up to offset + paging.COUNT_CAP, and whether that
    total is exact — a page of a grown table never counts the whole table."""
    query = select(model).where(*conditions)
    total, exact = paging.capped_count(session, query, offset + paging.COUNT_CAP)
    query = query.order_by(*_order_by(model, sort)).limit(limit).offset(offset)
    return list(session.scalars(query)), total, exact


def _order_by(model: type[Base], sort: str | None) -> list[Any]:
    columns = model.__table__.columns
    order: list[Any] = []
    for part in (sort or "id").split(","):
        name = part.strip().lstrip("-")
        if name not in columns:
            raise ValidationFailed(f"cannot sort by unknown field '{name}'", field="sort")
        column = columns[name]
        order.append(column.desc() if part.strip().startswith("-") else column.asc())
    if "id" not in {p.strip().lstrip("-") for p in (sort or "id").split(",")}:
        order.append(columns["id"].asc())  # stable pagination
    return order


def get_row(session: Session, model: type[RowT], row_id: int) -> RowT:
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"{_label(model)} {row_id} does not exist")
    return row


def create_row(
    session: Session, model: type[RowT], values: Mapping[str, Any], *, record: bool = True
) -> RowT:
    """Insert a row; `record=False` when the caller writes its own, more telling, audit entry."""
    row = model(**values)
    session.add(row)
    _flush(session, model)
    if record:
        audit.record(
            session,
            "create",
            model.__tablename__,
            row.id,  # type: ignore[attr-defined]
            f"created {audit.label_of(row)}",
            after=audit.snapshot(row),
        )
    return row


def update_row(
    session: Session, row: RowT, values: Mapping[str, Any], expected_version: int, *, record: bool = True
) -> RowT:
    """Apply `values` if the stored version is still `expected_version`; a stale version is a conflict.

    The audit entry is added after the flush succeeds, so the loser of a race leaves none."""
    if row.version != expected_version:  # type: ignore[attr-defined]
        raise ConflictError(
            f"{_label(type(row))} {row.id} was changed by someone else: your version {expected_version}, "  # type: ignore[attr-defined]
            f"current version {row.version}",  # type: ignore[attr-defined]
            field="version",
        )
    before = audit.snapshot(row)
    for key, value in values.items():
        setattr(row, key, value)
    _flush(session, type(row))
    after = audit.snapshot(row)
    if record and audit.changed_columns(before, after):
        audit.record(
            session,
            "update",
            row.__tablename__,
            row.id,  # type: ignore[attr-defined]
            f"{audit.label_of(row)}: {audit.describe_changes(before, after)}",
            before=before,
            after=after,
        )
    return row


def delete_row(session: Session, row: Base) -> None:
    before, label, row_id = audit.snapshot(row), audit.label_of(row), row.id  # type: ignore[attr-defined]
    session.delete(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"{_label(type(row))} {row.id} is still referenced by other rows") from exc  # type: ignore[attr-defined]
    audit.record(session, "delete", row.__tablename__, row_id, f"deleted {label}", before=before)


def _flush(session: Session, model: type[Base]) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise ConflictError(
            f"{_label(model)} was changed by someone else; reload and retry", "version"
        ) from exc
    except IntegrityError as exc:
        session.rollback()
        message = str(exc.orig).lower()
        if "unique" in message or "duplicate" in message:
            raise ConflictError(f"a {_label(model)} with that name already exists", field="name") from exc
        if "foreign key" in message:
            raise ConflictError(f"{_label(model)} refers to a row that does not exist") from exc
        raise ConflictError(f"{_label(model)} violates a constraint: {exc.orig}") from exc


def _label(model: type[Base]) -> str:
    return str(model.__tablename__).rstrip("s").replace("_", " ")
