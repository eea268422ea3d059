"""Versioned JSON export and import of the whole database, with stable ids.

export → import into an empty database → export gives the same document. The import validates every row
before writing any, and writes all of them or none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy import Date, insert, select, text
from sqlalchemy.orm import Session

from app.db.access import AuditEntry
from app.db.base import Base, UTCDateTime
from app.db.measurements import MEASUREMENT_KINDS, Measurement
from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario, SimulationRun
from app.services import audit
from app.services.errors import ConflictError, ValidationFailed

SCHEMA_VERSION = 1
# Parents before children, so foreign keys resolve on import (measurements point to model_configs and
# accelerators; an export without a measurements section, from before issue 10, still imports).
TABLES: tuple[type[Base], ...] = (
    Accelerator,
    PriceQuote,
    MarketPrice,
    ModelConfig,
    Measurement,
    Scenario,
    SimulationRun,
)


# The append-only audit log travels in the streamed export (`pricewar export`) and is loaded back by
# `pricewar import`; the in-memory document (the API's /export) leaves it out.
STREAMED_TABLES: tuple[type[Base], ...] = (*TABLES, AuditEntry)
STREAM_BATCH_ROWS = 1_000


def export_document(session: Session) -> dict[str, Any]:
    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "format": "pricewar-export"}
    for model in TABLES:
        document[model.__tablename__] = list(_rows_as_json(session, model))
    return document


def _rows_as_json(session: Session, model: type[Base]) -> Iterator[dict[str, Any]]:
    """The table's rows in id order as JSON-ready dicts, streamed: plain rows (no ORM identity map), fetched
    `STREAM_BATCH_ROWS` at a time (a server-side cursor on PostgreSQL), so memory stays flat."""
    columns = list(model.__table__.columns)
    query = (
        select(*columns)
        .order_by(model.__table__.c.id)
        .execution_options(yield_per=STREAM_BATCH_ROWS, stream_results=True)
    )
    for row in session.execute(query):
        yield {
            column.key: value.isoformat() if isinstance(value, date | datetime) else value
            for column, value in zip(columns, row, strict=True)
        }


def write_export(session: Session, out: TextIO) -> dict[str, int]:
    """Write the whole database (audit log included) as one JSON document to `out`, a row at a time:
    memory does not grow with the tables. Returns the row count per table."""
    out.write(f'{{"format": "pricewar-export", "schema_version": {SCHEMA_VERSION}')
    counts: dict[str, int] = {}
    for model in STREAMED_TABLES:
        table = model.__tablename__
        out.write(f',\n"{table}": [')
        n = 0
        for row in _rows_as_json(session, model):
            out.write(("\n" if n == 0 else ",\n") + json.dumps(row, sort_keys=True, ensure_ascii=False))
            n += 1
        out.write("\n]" if n else "]")
        counts[table] = n
    out.write("}\n")
    return counts


def import_file(session: Session, path: str | Path) -> dict[str, int]:
    """`pricewar import` of a (possibly huge) export file, streamed: each section is read a row at a time
    (ijson), validated like import_document and inserted in batches in the caller's transaction — an
    invalid row raises and the caller's rollback leaves nothing written (all or nothing)."""
    import ijson

    path = Path(path)
    with path.open("rb") as head:
        version = None
        sections: set[str] = set()
        for prefix, event, value in ijson.parse(head, use_float=True):
            if prefix == "schema_version" and event == "number":
                version = value
            elif prefix == "" and event == "map_key":
                sections.add(value)
    if version != SCHEMA_VERSION:
        raise ValidationFailed(
            f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION})", "schema_version"
        )
    unknown = sections - {"schema_version", "format"} - {m.__tablename__ for m in STREAMED_TABLES}
    if unknown:
        raise ValidationFailed(f"unknown section(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    _require_empty(session)
    counts: dict[str, int] = {}
    for model in STREAMED_TABLES:
        table = model.__tablename__
        counts[table] = 0
        if table not in sections:
            continue
        batch: list[dict[str, Any]] = []
        with path.open("rb") as stream:
            for i, raw in enumerate(ijson.items(stream, f"{table}.item", use_float=True)):
                if not isinstance(raw, dict):
                    raise ValidationFailed(f"{table} must be a list of objects", field=table)
                batch.append(_row_from_json(model, raw, i))
                if len(batch) >= STREAM_BATCH_ROWS:
                    session.execute(insert(model.__table__), batch)  # type: ignore[arg-type]
                    counts[table] += len(batch)
                    batch = []
        if batch:
            session.execute(insert(model.__table__), batch)  # type: ignore[arg-type]
            counts[table] += len(batch)
    session.flush()
    _reset_sequences(session, STREAMED_TABLES)
    audit.record(
        session,
        "import",
        "database",
        None,
        "whole-database import: " + ", ".join(f"{n} {table}" for table, n in counts.items()),
    )
    return counts


def _require_empty(session: Session) -> None:
    for model in TABLES:
        if session.scalar(select(model.__table__.c.id).limit(1)) is not None:
            raise ConflictError(
                f"the database is not empty ({model.__tablename__} has rows); import needs an empty one"
            )


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
    _require_empty(session)
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
    if model is Measurement:
        _validate_measurement(values, where)
        return
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


def _validate_measurement(values: dict[str, Any], where: str) -> None:
    """The measurements API's rules for a stored row (kind, precisions, positive counts and rate); the
    roofline check needs the engine and the other tables, so it stays with POST /api/v1/measurements."""
    from app.web.api.measurements import MeasurementCreate

    payload = {k: v for k, v in values.items() if k in MeasurementCreate.model_fields}
    payload["model_id"] = values.get("model_config_id")
    if values.get("kind") not in MEASUREMENT_KINDS:
        raise ValidationFailed(f"{where}.kind: one of {', '.join(MEASUREMENT_KINDS)}", field=f"{where}.kind")
    try:
        MeasurementCreate.model_validate(payload, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        field = "model_config_id" if field == "model_id" else field
        named = f"{where}.{field}" if field else where  # a rule across fields (serving lengths) names the row
        raise ValidationFailed(f"{named}: {first['msg']}", field=named) from exc


def _reset_sequences(session: Session, tables: tuple[type[Base], ...] = TABLES) -> None:
    """PostgreSQL serial columns must continue after the imported ids."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in tables:
        table = model.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - table names are ours
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )
