"""Versioned JSON export and import of the whole database, with stable ids.

export → import into an empty database → export gives the same document. The import validates every row
before writing any, and writes all of them or none.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Date, func, insert, select, text
from sqlalchemy.orm import Session

from app.db.base import Base, UTCDateTime
from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario, SimulationRun
from app.services import audit
from app.services.errors import ConflictError, ValidationFailed

SCHEMA_VERSION = 1
# Parents before children, so foreign keys resolve on import.
TABLES: tuple[type[Base], ...] = (Accelerator, PriceQuote, MarketPrice, ModelConfig, Scenario, SimulationRun)


def export_document(session: Session) -> dict[str, Any]:
    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "format": "pricewar-export"}
    for model in TABLES:
        rows = session.scalars(select(model).order_by(model.id))  # type: ignore[attr-defined]
        document[model.__tablename__] = [_row_to_json(model, row) for row in rows]
    return document


def _row_to_json(model: type[Base], row: Base) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column in model.__table__.columns:
        value = getattr(row, column.key)
        data[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return data


def import_document(session: Session, document: dict[str, Any]) -> dict[str, int]:
    """Insert every row of `document` into an empty database; returns the row count per table."""
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValidationFailed(
            f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION})", "schema_version"
        )
    unknown = set(document) - {"schema_version", "format"} - {m.__tablename__ for m in TABLES}
    if unknown:
        raise ValidationFailed(f"unknown section(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    for model in TABLES:
        if session.scalar(select(func.count()).select_from(model)):
            raise ConflictError(
                f"the database is not empty ({model.__tablename__} has rows); import needs an empty one"
            )
    prepared = {
        model: [_row_from_json(model, raw, i) for i, raw in enumerate(_section(document, model))]
        for model in TABLES
    }
    counts: dict[str, int] = {}
    for model, rows in prepared.items():
        if rows:
            session.execute(insert(model.__table__), rows)  # type: ignore[arg-type]
        counts[model.__tablename__] = len(rows)
    session.flush()
    _reset_sequences(session)
    audit.record(
        session,
        "import",
        "database",
        None,
        "whole-database import: " + ", ".join(f"{n} {table}" for table, n in counts.items()),
    )
    return counts


def _section(document: dict[str, Any], model: type[Base]) -> list[dict[str, Any]]:
    rows = document.get(model.__tablename__, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed(f"{model.__tablename__} must be a list of objects", field=model.__tablename__)
    return rows


def _row_from_json(model: type[Base], raw: dict[str, Any], index: int) -> dict[str, Any]:
    where = f"{model.__tablename__}[{index}]"
    columns = {c.key: c for c in model.__table__.columns}
    extra = set(raw) - set(columns)
    if extra:
        raise ValidationFailed(f"{where}: unknown field(s) {', '.join(sorted(extra))}", field=where)
    values: dict[str, Any] = {}
    for key, column in columns.items():
        value = raw.get(key)
        if value is None:
            if not column.nullable and column.default is None and column.server_default is None:
                raise ValidationFailed(f"{where}.{key}: required", field=f"{where}.{key}")
            if key in raw:
                values[key] = None
            continue
        try:
            if isinstance(column.type, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(column.type, Date):
                value = date.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                f"{where}.{key}: not an ISO date/time: {value!r}", field=f"{where}.{key}"
            ) from exc
        values[key] = value
    _validate_with_schema(model, values, where)
    return values


def _validate_with_schema(model: type[Base], values: dict[str, Any], where: str) -> None:
    from app.web import schemas  # the API's strict schemas are the one definition of a valid row

    creates: dict[type[Base], type[BaseModel]] = {
        Accelerator: schemas.AcceleratorCreate,
        PriceQuote: schemas.PriceQuoteCreate,
        MarketPrice: schemas.MarketPriceCreate,
        ModelConfig: schemas.ModelConfigCreate,
        Scenario: schemas.ScenarioCreate,
    }
    create = creates.get(model)
    if create is None:
        return
    payload = {k: v for k, v in values.items() if k in create.model_fields}
    try:
        create.model_validate(payload, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"{where}.{field}: {first['msg']}", field=f"{where}.{field}") from exc


def _reset_sequences(session: Session) -> None:
    """PostgreSQL serial columns must continue after the imported ids."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in TABLES:
        table = model.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - table names are ours
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )
